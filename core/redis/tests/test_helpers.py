"""core.redis helpers on LocMem (and a closed port for the breaker)."""

import pytest
from django.core.cache import caches

from core.redis import availability, generations
from core.redis.config import url_with_db
from core.redis.keys import digest, make_key
from core.redis.locks import cache_lock
from core.testing.health import ready_with_details


def test_url_with_db_keeps_credentials_tls_and_query():
    assert url_with_db("redis://:pw@h:6380/0", 3) == "redis://:pw@h:6380/3"
    assert url_with_db("rediss://u:pw@h:6380?ssl_cert_reqs=required", 2) == (
        "rediss://u:pw@h:6380/2?ssl_cert_reqs=required"
    )
    assert url_with_db("unix:///run/redis.sock?db=5", 1) == "unix:///run/redis.sock?db=1"
    with pytest.raises(ValueError, match="Not a Redis URL"):
        url_with_db("http://h/0", 1)


def test_keys():
    assert make_key("perm", 1, "acme") == "perm:1:acme"
    assert digest("a", "b") == digest("a", "b") != digest("ab")


def test_generation_bump_invalidates_and_starts_random():
    lookup = generations.read("default", "entry", ["gen:a"])
    assert not lookup.hit and lookup.generations[0] > 1000  # random start, not 0/1
    assert generations.store("default", "entry", lookup, "v")
    assert generations.read("default", "entry", ["gen:a"]).value == "v"
    generations.bump("default", "gen:a")
    assert not generations.read("default", "entry", ["gen:a"]).hit


def test_bumping_a_missing_generation_creates_it():
    generations.bump("default", "gen:new")
    assert caches["default"].get("gen:new") is not None


def test_lock_excludes_a_second_holder_and_releases():
    with cache_lock("default", "L", timeout=5) as first:
        with cache_lock("default", "L", timeout=5) as second:
            assert first and not second
    with cache_lock("default", "L", timeout=5) as again:
        assert again


def test_breaker_bypasses_a_dead_redis_then_retries(settings, caplog):
    settings.CACHES = {
        "default": {"BACKEND": "django_redis.cache.RedisCache", "LOCATION": "redis://127.0.0.1:1/0"}
    }
    settings.CACHE_RETRY_AFTER = 3600
    with pytest.raises(availability.CacheUnavailable):
        availability.run("default", lambda cache: cache.get("x"))
    assert not availability.is_available("default")
    calls = []
    with pytest.raises(availability.CacheUnavailable):
        availability.run("default", lambda cache: calls.append(1))
    assert calls == []  # no network while the breaker is open
    assert [r.levelname for r in caplog.records] == ["WARNING"]
    # Reads degrade to a miss that is not stored; bumps are kept for later.
    assert generations.read("default", "e", ["g"]).generations is None
    generations.bump("default", "g")
    assert "g" in generations._pending["default"]
    availability.reset()
    assert availability.is_available("default")


@pytest.mark.django_db
def test_readiness_lists_every_cache_alias(client):
    body = ready_with_details(client).json()
    for alias in ("default", "permissions", "api_responses"):
        assert body["components"][f"cache.{alias}"] == {
            "status": "ok",
            "latency_ms": body["components"][f"cache.{alias}"]["latency_ms"],
            "backend": "LocMemCache",
        }

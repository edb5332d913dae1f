"""Against a real redis-server the test starts and kills: caching, degradation, recovery,
health, metrics and ``redis_stats``."""

import logging

import pytest
from django.core.cache import caches
from django.core.management import call_command
from django.core.management.base import CommandError

from api.v1.base_models.organization.models import Membership, Role
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from core.testing.health import ready_with_details
from core.webhosts import record_web_heartbeat

pytestmark = [pytest.mark.django_db, pytest.mark.integration]

URL = "/api/v1/products/"


def test_caches_live_in_their_own_redis_databases(org, product, member_client, redis_caches):
    client, _ = member_client(org, "viewer")
    assert client.get(URL)["X-Cache"] == "MISS"
    assert client.get(URL)["X-Cache"] == "HIT"
    r = redis_caches.client()
    assert r.execute_command("DBSIZE") == 0  # default alias: untouched
    assert redis_caches.client(1).dbsize() > 0  # permissions
    assert redis_caches.client(2).dbsize() > 0  # api_responses
    # Entries expire; generation keys don't (they must never be evicted first).
    perm = redis_caches.client(1)
    ttls = {key.decode(): perm.ttl(key) for key in perm.keys("*")}
    assert all(ttl > 0 for key, ttl in ttls.items() if ":perm:" in key and ":gen:" not in key)
    assert all(ttl == -1 for key, ttl in ttls.items() if ":gen:" in key)


def test_exact_invalidation_with_real_redis(org, product, member_client, redis_caches):
    client, user = member_client(org, "admin")
    assert client.get(f"{URL}{product.pk}/").json()["stock"] == 100
    Product.objects.filter(pk=product.pk).update(stock=3)
    assert client.get(f"{URL}{product.pk}/").json()["stock"] == 3
    Membership.objects.filter(user=user).update(role=Role.objects.get(name="viewer"))
    assert client.post(URL, {"sku": "X", "name": "X", "price": "1"}).status_code == 403


def test_redis_down_every_endpoint_answers_and_recovers(
    org, member_client, redis_caches, client, caplog
):
    ProductFactory.create_batch(2, organization=org)
    admin, user = member_client(org, "admin")
    assert admin.get(URL)["X-Cache"] == "MISS"
    assert admin.get(URL)["X-Cache"] == "HIT"

    redis_caches.stop()
    with caplog.at_level(logging.WARNING, logger="core.redis"):
        down = admin.get(URL)
    assert down.status_code == 200 and down.json()["count"] == 2
    assert "X-Cache" in down and down["X-Cache"] == "MISS"
    assert any("unreachable" in r.getMessage() for r in caplog.records)
    # Writes and reads stay correct (never stale) while Redis is down.
    created = admin.post(URL, {"sku": "D-1", "name": "Down", "price": "2.00", "stock": 5})
    assert created.status_code == 201
    assert admin.get(URL).json()["count"] == 3
    order = admin.post(
        "/api/v1/orders/", {"lines": [{"product": created.json()["id"], "quantity": 1}]}
    )
    assert order.status_code == 201
    assert admin.get("/api/v1/orders/").status_code == 200
    assert admin.get(f"/api/v1/organizations/{org.slug}/members/").status_code == 200
    # Authorization falls back to the database and never fails open.
    Membership.objects.filter(user=user).update(role=Role.objects.get(name="viewer"))
    assert admin.post(URL, {"sku": "D-2", "name": "No", "price": "1"}).status_code == 403
    # Plain use of the default alias anywhere in the code degrades to a miss, never an error.
    caches["default"].set("k", 1)
    assert caches["default"].get("k") is None
    ready = ready_with_details(client)
    body = ready.json()
    assert ready.status_code == 200 and body["status"] == "degraded"
    assert body["components"]["cache.api_responses"]["status"] == "degraded"
    assert body["components"]["database"]["status"] == "ok"

    redis_caches.start()  # same port, empty
    admin.get(URL)
    assert admin.get(URL)["X-Cache"] == "HIT"  # back in use, no restart
    assert admin.get(URL).json()["count"] == 3
    assert admin.post(URL, {"sku": "D-3", "name": "No", "price": "1"}).status_code == 403
    ready = ready_with_details(client)
    # Caches back to ok (Celery components may be degraded: no worker runs in this test).
    assert ready.status_code == 200
    assert all(
        c["status"] == "ok"
        for name, c in ready.json()["components"].items()
        if name.startswith("cache.")
    )


def test_bumps_missed_while_down_are_replayed(org, product, member_client, redis_caches, settings):
    """A write while Redis is unreachable must not leave an old entry valid afterwards."""
    from core.redis import generations

    client, _ = member_client(org, "viewer")
    client.get(f"{URL}{product.pk}/")
    assert client.get(f"{URL}{product.pk}/")["X-Cache"] == "HIT"
    # Simulate a partition for this process only: point the alias at a dead port, write, then
    # come back to the server that still holds the old entry.
    live = settings.CACHES["api_responses"]["LOCATION"]
    settings.CACHES = {
        **settings.CACHES,
        "api_responses": {**settings.CACHES["api_responses"], "LOCATION": "redis://127.0.0.1:1/2"},
    }
    Product.objects.filter(pk=product.pk).update(stock=9)
    assert generations._pending["api_responses"]
    settings.CACHES = {
        **settings.CACHES,
        "api_responses": {**settings.CACHES["api_responses"], "LOCATION": live},
    }
    assert client.get(f"{URL}{product.pk}/").json()["stock"] == 9


def test_health_and_metrics_report_each_alias(client, redis_caches, settings):
    settings.METRICS_TOKEN = ""
    redis_caches.client(1).get("missing")  # a keyspace miss: the hit ratio has a denominator
    body = ready_with_details(client).json()
    for alias in ("default", "permissions", "api_responses"):
        component = body["components"][f"cache.{alias}"]
        assert component["status"] == "ok"
        assert {"ping_ms", "used_memory", "maxmemory_policy", "connected_clients"} <= set(component)
    text = client.get("/metrics").content.decode()
    for line in (
        'erp_redis_up{alias="permissions"} 1.0',
        'erp_redis_maxmemory_policy_info{alias="default",policy="noeviction"} 1.0',
    ):
        assert line in text
    for name in (
        "erp_redis_ping_seconds",
        "erp_redis_used_memory_bytes",
        "erp_redis_maxmemory_bytes",
        "erp_redis_connected_clients",
        "erp_redis_ops_per_second",
        "erp_redis_keyspace_hits_total",
        "erp_redis_keyspace_misses_total",
        "erp_redis_hit_ratio",
        "erp_redis_evicted_keys_total",
        "erp_redis_expired_keys_total",
        "erp_redis_db_keys",
    ):
        assert f"\n{name}{{" in text, name
    redis_caches.stop()
    text = client.get("/metrics").content.decode()
    assert 'erp_redis_up{alias="permissions"} 0.0' in text


def test_redis_stats_command(redis_caches, capsys, settings):
    settings.CELERY_BROKER_URL = redis_caches.url_for(3)
    redis_caches.client(1).set("x", 1)
    redis_caches.client(3).set("y", 1)
    redis_caches.client(3).set("z", 1)
    # This process's web heartbeat thread (started by any earlier test request) writes its
    # host into the broker database whenever it wakes; record it now so db3's count is exact.
    record_web_heartbeat()
    redis_caches.client(9).set("other", 1)
    call_command("redis_stats")
    out = capsys.readouterr().out
    keys = out.split("keys per database:")[1].splitlines()
    server = f"127.0.0.1:{redis_caches.port}"
    assert f"  {server}:" in keys
    # Every database of the server once (not once per alias sharing the server), labelled.
    for db, count, used_by in [
        ("db0", 0, "default"),
        ("db1", 1, "permissions"),
        ("db2", 0, "api_responses"),
        ("db3", 3, "celery broker"),
        ("db9", 1, "not ERP Core's"),
    ]:
        lines = [line for line in keys if line.strip().startswith(f"{db} ")]
        assert len(lines) == 1, (db, out)
        assert f"{count} keys  ({used_by})" in lines[0], lines[0]
    redis_caches.stop()
    with pytest.raises(CommandError, match="REDIS_URL"):
        call_command("redis_stats")

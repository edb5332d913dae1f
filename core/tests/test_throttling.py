"""Login throttling (issue 12, "Throttling"): failed attempts per username (10/15m) and per IP
(50/15m) lock further attempts, correct password included, with 429 + Retry-After; successful
logins never count. Per-user API throttles are off unless configured."""

from __future__ import annotations

import time

import pytest
from rest_framework.test import APIClient
from rest_framework.views import APIView

from api.v1.base_models.user.tests.factories import PASSWORD, UserFactory
from conftest import client_for
from core.api.throttling import UserRateThrottle, parse_rate

pytestmark = pytest.mark.django_db
TOKEN = "/api/v1/auth/token/"


def attempt(username: str, password: str, client=None, **extra):
    return (client or APIClient()).post(
        TOKEN, {"username": username, "password": password}, **extra
    )


def fail(username: str, times: int, **extra) -> None:
    for _ in range(times):
        assert attempt(username, "wrong-password", **extra).status_code == 400


def assert_locked(response, *, at_most: float = 900) -> None:
    assert response.status_code == 429, response.content
    assert "token" not in response.json() and "throttled" in response.json()["detail"]
    assert 1 <= int(response["Retry-After"]) <= at_most


def set_rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"], **rates},
    }


def test_rates_parse_multiples():
    assert parse_rate("10/15m") == (10, 900)
    assert parse_rate("50/15min") == (50, 900)
    assert parse_rate("100/hour") == (100, 3600)
    with pytest.raises(ValueError, match="10/15m"):
        parse_rate("ten per minute")


def test_ten_failures_for_a_username_lock_it_correct_password_included(settings):
    assert settings.LOGIN_FAILURES_PER_USERNAME == "10/15m"
    UserFactory(username="alice")
    UserFactory(username="bob")
    fail("alice", 10)
    assert_locked(attempt("alice", PASSWORD))
    assert_locked(attempt("alice", "wrong-password"))
    # Another username from the same IP is not locked (the IP limit is 50).
    assert attempt("bob", PASSWORD).status_code == 200


def test_nine_failures_do_not_lock_and_successes_never_count():
    UserFactory(username="alice")
    for _ in range(15):
        assert attempt("alice", PASSWORD).status_code == 200
    fail("alice", 9)
    assert attempt("alice", PASSWORD).status_code == 200  # 9 failures: still open
    fail("alice", 1)  # the 10th
    assert_locked(attempt("alice", PASSWORD))


def test_fifty_failures_from_one_ip_lock_that_ip_whatever_the_username():
    UserFactory(username="alice")
    for i in range(50):
        assert attempt(f"nobody-{i}", "x").status_code == 400
    assert_locked(attempt("alice", PASSWORD))
    # X-Forwarded-For is not trusted (NUM_PROXIES=0): forging it does not get around the lock.
    assert_locked(attempt("alice", PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.9"))
    # Another address is not locked.
    assert attempt("alice", PASSWORD, REMOTE_ADDR="198.51.100.7").status_code == 200


def test_the_lock_ends_when_the_window_passes(settings):
    set_rates(settings, login_username="2/2s")
    UserFactory(username="alice")
    fail("alice", 2)
    assert_locked(attempt("alice", PASSWORD), at_most=2)
    time.sleep(2.1)
    assert attempt("alice", PASSWORD).status_code == 200


def test_login_throttle_state_lives_in_a_real_redis(redis_caches):
    UserFactory(username="alice")
    fail("alice", 10)
    assert_locked(attempt("alice", PASSWORD))
    keys = redis_caches.client(0).keys("*throttle_login_username*")
    assert len(keys) == 1
    assert redis_caches.client(0).ttl(keys[0]) > 800
    redis_caches.client(0).flushdb()  # an operator unlocking by hand
    assert attempt("alice", PASSWORD).status_code == 200


def test_per_user_api_throttles_are_off_by_default(settings, org, member_client):
    assert settings.REST_FRAMEWORK["DEFAULT_THROTTLE_CLASSES"] == []
    client, _ = member_client(org)
    assert all(client.get("/api/v1/products/").status_code == 200 for _ in range(30))


def test_per_user_api_throttle_when_configured(settings, org, member_client, monkeypatch):
    # API_THROTTLE_USER_RATE=3/m at start-up puts UserRateThrottle in DEFAULT_THROTTLE_CLASSES,
    # which DRF binds to APIView when it is imported: set both here.
    set_rates(settings, user="3/m")
    monkeypatch.setattr(APIView, "throttle_classes", [UserRateThrottle])
    client, user = member_client(org)
    assert [client.get("/api/v1/products/").status_code for _ in range(3)] == [200] * 3
    response = client.get("/api/v1/products/")
    assert response.status_code == 429 and int(response["Retry-After"]) <= 60
    # Per user: another user is not affected.
    other = client_for(UserFactory(), None)
    assert other.get("/api/v1/me/").status_code == 200

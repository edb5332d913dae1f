"""The front of the response cache (core.api.front_cache): hits answered before DRF runs.

Every property is checked on both stores: a real Redis (the one-round-trip Lua script across
the ``permissions`` and ``api_responses`` databases) and LocMem (the key-by-key check).
"""

from datetime import timedelta

import pytest
import redis.connection
from django.test import Client
from django.utils import timezone
from knox.models import AuthToken

from api.v1.base_models.organization.models import Membership, Role
from api.v1.catalog.products import views
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member, client_for, revoke_permission
from core.api import front_cache
from core.metrics.requests import REQUESTS
from core.redis import generations

from ..permissions import Perm

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


@pytest.fixture(params=["redis", "locmem"])
def store(request):
    if request.param == "redis":
        return request.getfixturevalue("redis_caches")
    return None


@pytest.fixture
def drf_runs(monkeypatch):
    """How many requests reached DRF's ``initial()`` (a front hit never does)."""
    calls = []
    original = views.ProductViewSet.initial

    def counting(self, request, *args, **kwargs):
        calls.append(request.path)
        return original(self, request, *args, **kwargs)

    monkeypatch.setattr(views.ProductViewSet, "initial", counting)
    return calls


def headers_of(response, *, without=("X-Request-ID",)):
    return {k: v for k, v in response.items() if k not in without}


def test_second_read_is_served_by_the_front_like_a_drf_hit(store, org, member_client, drf_runs):
    ProductFactory.create_batch(3, organization=org)
    client, _ = member_client(org, "viewer")
    first = client.get(URL)  # DRF: computes and stores the entry, records the front
    assert first["X-Cache"] == "MISS" and len(drf_runs) == 1
    second = client.get(URL)
    assert second.status_code == 200 and second["X-Cache"] == "HIT"
    assert len(drf_runs) == 1  # answered before DRF
    assert second.content == first.content
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(front_cache, "serve", lambda request, key: None)
        through_drf = client.get(URL)  # the same hit through DRF, for comparison
    assert through_drf["X-Cache"] == "HIT" and len(drf_runs) == 2
    assert headers_of(second) == headers_of(through_drf)
    assert "Authorization" in second["Vary"] and "X-Organization" in second["Vary"]
    assert "Accept" in second["Vary"] and "private" in second["Cache-Control"]
    assert second["Allow"] == through_drf["Allow"]


def test_a_front_hit_is_one_redis_round_trip(redis_caches, org, member_client, drf_runs):
    client, _ = member_client(org, "viewer")
    client.get(URL)
    client.get(URL)  # warm: the script is loaded
    sent = []
    original = redis.connection.AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        sent.append(command)
        return original(self, command, check_health)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(redis.connection.AbstractConnection, "send_packed_command", counting)
        assert client.get(URL)["X-Cache"] == "HIT"
        assert len(sent) == 1 and b"EVALSHA" in b"".join(sent[0]).upper()
        assert len(drf_runs) == 1
        patch.setattr(front_cache, "serve", lambda request, key: None)
        patch.setattr(front_cache, "_prefixes", ())  # and no prefetch
        sent.clear()
        assert client.get(URL)["X-Cache"] == "HIT"  # the same hit through DRF:
        assert [b"".join(c).split(b"\r\n")[2] for c in sent] == [b"MGET"] * 3 + [b"SET"]
        # token, permissions, response; then it records the front again


def test_etag_and_304_on_the_front(store, org, product, member_client, drf_runs):
    client, _ = member_client(org, "viewer")
    etag = client.get(URL)["ETag"]
    not_modified = client.get(URL, HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag and len(drf_runs) == 1
    assert client.get(URL, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_another_organizations_page_is_never_served(store, org, other_org, member_client):
    ProductFactory.create_batch(2, organization=org)
    ProductFactory.create_batch(5, organization=other_org)
    _, user = member_client(org, "viewer")
    add_member(other_org, "viewer", user=user)
    acme, globex = client_for(user, org), client_for(user, other_org)
    assert acme.get(URL).json()["count"] == 2
    assert acme.get(URL).json()["count"] == 2  # front hit
    assert globex.get(URL).json()["count"] == 5
    assert globex.get(URL).json()["count"] == 5
    assert acme.get(URL).json()["count"] == 2
    # The same token with another organization's header is a different request.
    same_token = client_for(user)
    same_token.credentials(
        HTTP_AUTHORIZATION=acme._credentials["HTTP_AUTHORIZATION"],
        HTTP_X_ORGANIZATION=other_org.slug,
    )
    assert same_token.get(URL).json()["count"] == 5


def test_a_non_member_gets_403_not_a_cached_page(store, org, other_org, member_client):
    client, _ = member_client(org, "viewer")
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    client.credentials(
        HTTP_AUTHORIZATION=client._credentials["HTTP_AUTHORIZATION"],
        HTTP_X_ORGANIZATION=other_org.slug,
    )
    assert client.get(URL).status_code == 403
    assert client.get(URL).status_code == 403


def test_revoked_token_is_401_at_once(store, org, member_client, drf_runs):
    client, user = member_client(org, "viewer")
    assert client.get(URL).status_code == 200
    assert client.get(URL)["X-Cache"] == "HIT" and len(drf_runs) == 1
    assert client.post("/api/v1/auth/logout/").status_code == 204
    assert client.get(URL).status_code == 401
    assert client.get(URL).status_code == 401


def test_deleted_token_is_401(store, org, member_client):
    client, user = member_client(org, "viewer")
    client.get(URL)
    assert client.get(URL).status_code == 200
    AuthToken.objects.filter(user=user).delete()
    assert client.get(URL).status_code == 401


def test_expired_token_is_401(store, org, member_client, monkeypatch):
    _, user = member_client(org, "viewer")
    _, key = AuthToken.objects.create(user=user, expiry=timedelta(minutes=5))
    client = Client(HTTP_AUTHORIZATION=f"Token {key}", HTTP_X_ORGANIZATION=org.slug)
    assert client.get(URL).status_code == 200
    assert client.get(URL).status_code == 200
    later = timezone.now() + timedelta(minutes=6)
    monkeypatch.setattr(front_cache, "_now", lambda: later.timestamp())
    monkeypatch.setattr("api.v1.base_models.user.authentication.timezone.now", lambda: later)
    monkeypatch.setattr("knox.auth.timezone.now", lambda: later)
    assert client.get(URL).status_code == 401


def test_deactivated_user_is_401(store, org, member_client):
    client, user = member_client(org, "viewer")
    client.get(URL)
    assert client.get(URL).status_code == 200
    user.is_active = False
    user.save()
    assert client.get(URL).status_code == 401


def test_removed_membership_is_403(store, org, member_client, drf_runs):
    client, user = member_client(org, "viewer")
    client.get(URL)
    assert client.get(URL).status_code == 200 and len(drf_runs) == 1
    Membership.objects.filter(user=user).delete()
    response = client.get(URL)
    assert response.status_code == 403 and "not a member" in response.json()["detail"]


def test_role_change_takes_effect_at_once(store, org, member_client):
    client, user = member_client(org, "viewer")
    client.get(URL)
    assert client.get(URL).status_code == 200
    no_products = Role.objects.create(name="no-products", permissions=[])
    membership = Membership.objects.get(user=user)
    membership.role = no_products
    membership.save()
    assert client.get(URL).status_code == 403


def test_role_permission_revoked_takes_effect_at_once(store, org, product, member_client):
    client, _ = member_client(org, "viewer")
    client.get(URL)
    client.get(f"{URL}{product.pk}/")
    assert client.get(URL).status_code == 200
    revoke_permission("viewer", Perm.PRODUCTS_VIEW)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{product.pk}/").status_code == 403


def test_writes_are_seen_at_once(store, org, product, member_client):
    client, _ = member_client(org, "viewer")
    assert client.get(URL).json()["results"][0]["stock"] == 100
    assert client.get(URL).json()["results"][0]["stock"] == 100
    Product.objects.filter(pk=product.pk).update(stock=3)
    assert client.get(URL).json()["results"][0]["stock"] == 3
    detail = f"{URL}{product.pk}/"
    assert client.get(detail).json()["stock"] == 3
    product.delete()
    assert client.get(detail).status_code == 404
    assert client.get(URL).json()["count"] == 0


def test_query_string_and_accept_are_part_of_the_key(store, org, member_client):
    ProductFactory.create_batch(3, organization=org)
    client, _ = member_client(org, "viewer")
    assert len(client.get(URL + "?page_size=1").json()["results"]) == 1
    assert len(client.get(URL + "?page_size=2").json()["results"]) == 2
    assert len(client.get(URL + "?page_size=1").json()["results"]) == 1
    assert client.get(URL, HTTP_ACCEPT="application/json").status_code == 200
    assert client.get(URL, HTTP_ACCEPT="image/png").status_code == 406
    assert client.get(URL, HTTP_ACCEPT="image/png").status_code == 406


def test_request_id_and_metrics_on_a_front_hit(store, org, member_client, drf_runs):
    client, _ = member_client(org, "viewer")
    client.get(URL)

    def count():
        return REQUESTS.labels("GET", "api/v1/products/", "200")._value.get()

    before = count()
    response = client.get(URL, HTTP_X_REQUEST_ID="front-hit-0001")
    assert response["X-Cache"] == "HIT" and len(drf_runs) == 1
    assert response["X-Request-ID"] == "front-hit-0001"
    assert len(client.get(URL)["X-Request-ID"]) == 32
    assert count() == before + 2
    # Middleware headers are there as on any response.
    assert response["X-Content-Type-Options"] == "nosniff"


def test_session_callers_never_use_the_front(store, org, other_org, member_client):
    """Identity from a cookie is not in the key: a junk Authorization header plus a session
    must not share a record between two users."""
    ProductFactory.create_batch(2, organization=org)
    ProductFactory.create_batch(5, organization=other_org)
    _, alice = member_client(org, "viewer")
    _, bob = member_client(other_org, "viewer")
    seen = []
    for user in (alice, bob, alice, bob):
        client = Client(HTTP_AUTHORIZATION="Bearer junk")
        client.force_login(user)
        seen.append(client.get(URL).json()["count"])
    assert seen == [2, 5, 2, 5]


def test_disabled_switch_and_throttles_bypass_the_front(
    store, org, member_client, drf_runs, settings, monkeypatch
):
    client, _ = member_client(org, "viewer")
    settings.API_RESPONSE_FRONT_CACHE_ENABLED = False
    client.get(URL)
    client.get(URL)
    assert len(drf_runs) == 2
    settings.API_RESPONSE_FRONT_CACHE_ENABLED = True
    monkeypatch.setattr(views.ProductViewSet, "throttle_classes", [object])
    monkeypatch.setattr(views.ProductViewSet, "get_throttles", lambda self: [])
    client.get(URL)
    client.get(URL)
    assert len(drf_runs) == 4


def test_without_the_token_or_permission_caches_nothing_is_recorded(
    store, org, member_client, drf_runs, settings
):
    client, _ = member_client(org, "viewer")
    for switch in ("AUTH_TOKEN_CACHE_ENABLED", "PERMISSION_CACHE_ENABLED"):
        setattr(settings, switch, False)
        before = len(drf_runs)
        client.get(URL)
        client.get(URL)
        assert len(drf_runs) == before + 2, switch  # DRF every time: nothing vouches for it
        setattr(settings, switch, True)


def test_pending_bumps_skip_the_front(store, org, member_client, drf_runs):
    client, _ = member_client(org, "viewer")
    client.get(URL)
    generations._pending["permissions"].add("gen:perm:all")
    try:
        client.get(URL)
        assert len(drf_runs) == 2
    finally:
        generations.forget_pending()


def test_redis_down_answers_from_the_database(redis_caches, org, product, member_client):
    client, _ = member_client(org, "viewer")
    client.get(URL)
    assert client.get(URL)["X-Cache"] == "HIT"
    redis_caches.stop()
    response = client.get(URL)
    assert response.status_code == 200 and response["X-Cache"] == "MISS"
    assert response.json()["count"] == 1


def test_the_lookup_is_sent_as_the_request_starts(redis_caches, org, member_client, monkeypatch):
    """The script goes out from ``request_started``; the view reads its reply (no second
    lookup), and a reply no view takes is read at ``request_finished`` (the connection goes
    back to the pool clean)."""
    client, _ = member_client(org, "viewer")
    client.get(URL)  # records (and teaches this process the /api/v1/products/ prefix)
    sent = []
    monkeypatch.setattr(
        front_cache,
        "_load_lua",
        lambda pair, key: (
            sent.append(key) or (_ for _ in ()).throw(AssertionError("looked up again in the view"))
        ),
    )
    response = client.get(URL)
    assert response.status_code == 200 and response["X-Cache"] == "HIT" and sent == []
    pool = front_cache._redis_pair()[0].connection_pool
    assert not pool._in_use_connections
    # Prefetched, but answered by another view (404): drained, nothing left in use.
    assert client.get(URL + "no-such-product/").status_code == 404
    assert not pool._in_use_connections and front_cache._local.inflight is None
    # Not prefetched: other methods, other prefixes.
    assert client.post(URL, {}).status_code in (400, 403)
    assert front_cache._local.inflight is None

"""Product list/detail response caching: headers, exact invalidation, isolation, stampede."""

import threading
import time
from unittest import mock

import pytest
from django.db import connections

from api.v1.catalog.products import views
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import client_for, revoke_permission

from ..permissions import Perm

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def detail(product):
    return f"{URL}{product.pk}/"


def stock_of(client, product):
    return client.get(detail(product)).json()["stock"]


def test_second_read_is_a_hit_with_private_etag_headers(org, product, member_client):
    client, _ = member_client(org, "viewer")
    first = client.get(URL)
    second = client.get(URL)
    assert first["X-Cache"] == "MISS" and second["X-Cache"] == "HIT"
    assert second.content == first.content and second.json()["count"] == 1
    assert "private" in second["Cache-Control"]
    assert second["ETag"] == first["ETag"] and second["ETag"].startswith('"')
    assert "Authorization" in second["Vary"] and "X-Organization" in second["Vary"]
    assert second["Content-Type"].startswith("application/json")


def test_if_none_match_answers_304(org, product, member_client):
    client, _ = member_client(org, "viewer")
    etag = client.get(detail(product))["ETag"]
    not_modified = client.get(detail(product), HTTP_IF_NONE_MATCH=etag)
    assert not_modified.status_code == 304 and not_modified.content == b""
    assert not_modified["ETag"] == etag
    assert client.get(detail(product), HTTP_IF_NONE_MATCH='"other"').status_code == 200
    # After a change the old ETag no longer matches.
    Product.objects.filter(pk=product.pk).update(stock=7)
    changed = client.get(detail(product), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed.json()["stock"] == 7


def test_query_string_is_normalized(org, member_client):
    ProductFactory.create_batch(3, organization=org)
    client, _ = member_client(org, "viewer")
    first = client.get(URL + "?page_size=2&ordering=-id")
    again = client.get(URL + "?ordering=-id&page_size=2")
    assert first["X-Cache"] == "MISS" and again["X-Cache"] == "HIT"
    assert client.get(URL + "?ordering=id&page_size=2").json() != first.json()


def test_saves_and_deletes_through_the_api_invalidate(org, product, member_client):
    client, _ = member_client(org, "admin")
    assert stock_of(client, product) == 100
    assert client.get(URL).json()["count"] == 1
    assert client.patch(detail(product), {"stock": 5}).status_code == 200
    assert stock_of(client, product) == 5
    assert client.get(URL).json()["results"][0]["stock"] == 5
    assert client.post(URL, {"sku": "N-1", "name": "New", "price": "1.00"}).status_code == 201
    assert client.get(URL).json()["count"] == 2
    assert client.delete(detail(product)).status_code == 204
    assert client.get(detail(product)).status_code == 404
    assert client.get(URL).json()["count"] == 1


def test_placing_and_cancelling_orders_invalidate_stock(org, product, member_client):
    client, _ = member_client(org, "member")
    assert stock_of(client, product) == 100
    assert client.get(URL).json()["results"][0]["stock"] == 100
    order = client.post("/api/v1/orders/", {"lines": [{"product": product.pk, "quantity": 3}]})
    assert order.status_code == 201, order.content
    assert stock_of(client, product) == 97
    assert client.get(URL).json()["results"][0]["stock"] == 97
    assert client.post(f"/api/v1/orders/{order.json()['id']}/cancel/").status_code == 200
    assert stock_of(client, product) == 100
    assert client.get(URL).json()["results"][0]["stock"] == 100


def test_bulk_queryset_writes_invalidate(org, product, member_client):
    client, _ = member_client(org, "viewer")
    assert stock_of(client, product) == 100
    Product.objects.filter(organization=org).update(stock=42)
    assert stock_of(client, product) == 42
    product.stock = 41
    Product.objects.bulk_update([product], ["stock"])
    assert stock_of(client, product) == 41
    Product.objects.bulk_create([Product(organization=org, sku="B-1", name="Bulk", price=1)])
    assert client.get(URL).json()["count"] == 2
    Product.objects.filter(sku="B-1").delete()
    assert client.get(URL).json()["count"] == 1


def test_a_change_in_one_organization_keeps_the_others_cache(org, other_org, member_client):
    mine, theirs = ProductFactory(organization=org), ProductFactory(organization=other_org)
    other_client, _ = member_client(other_org, "viewer")
    other_client.get(detail(theirs))
    Product.objects.filter(pk=mine.pk).update(stock=1)
    assert other_client.get(detail(theirs))["X-Cache"] == "HIT"


def test_never_served_to_another_organization(org, other_org, member_client):
    ProductFactory.create_batch(2, organization=org)
    ProductFactory.create_batch(5, organization=other_org)
    acme, _ = member_client(org, "viewer")
    globex, _ = member_client(other_org, "viewer")
    assert acme.get(URL).json()["count"] == 2
    assert acme.get(URL)["X-Cache"] == "HIT"
    response = globex.get(URL)
    assert response["X-Cache"] == "MISS" and response.json()["count"] == 5
    foreign = Product.objects.filter(organization=other_org).first()
    assert acme.get(detail(foreign)).status_code == 404  # cached or not, still tenancy-scoped


def test_never_served_to_another_role(org, product, member_client):
    viewer, _ = member_client(org, "viewer")
    admin, _ = member_client(org, "admin")
    assert viewer.get(URL)["X-Cache"] == "MISS"
    assert admin.get(URL)["X-Cache"] == "MISS"  # different permission set: its own entry
    _, other_viewer = member_client(org, "viewer")
    assert client_for(other_viewer, org).get(URL)["X-Cache"] == "HIT"  # same role: shared


def test_losing_permission_is_refused_before_the_cache(org, product, member_client):
    viewer, _ = member_client(org, "viewer")
    assert viewer.get(URL).status_code == 200
    revoke_permission("viewer", Perm.PRODUCTS_VIEW)
    assert viewer.get(URL).status_code == 403
    assert viewer.get(detail(product)).status_code == 403


def test_disabled_setting_bypasses_the_cache(org, product, member_client, settings):
    settings.API_RESPONSE_CACHE_ENABLED = False
    client, _ = member_client(org, "viewer")
    client.get(URL)
    assert "X-Cache" not in client.get(URL)


def _concurrent_list(client_factory, n: int) -> list:
    """``n`` threads GET the list at the same moment, sharing the test's DB connection."""
    main = connections["default"]
    main.inc_thread_sharing()
    barrier = threading.Barrier(n)
    responses = []

    def worker(client):
        connections["default"] = main
        barrier.wait()
        responses.append(client.get(URL))

    threads = [threading.Thread(target=worker, args=(client_factory(),)) for _ in range(n)]
    # The test client disconnects close_old_connections from request_started around each
    # request and reconnects it after: with several threads that juggling races, and a thread
    # that runs it closes the shared connection (autocommit is off inside the test's
    # transaction), so every request answers 503. Nothing may close it here.
    keep_open = mock.patch.object(main, "close_if_unusable_or_obsolete", lambda: None)
    try:
        with keep_open:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(30)
    finally:
        main.dec_thread_sharing()
    return responses


@pytest.mark.parametrize("guarded", [True, False])
def test_concurrent_misses_do_the_database_work_once(org, member_client, monkeypatch, guarded):
    ProductFactory.create_batch(3, organization=org)
    _, user = member_client(org, "viewer")
    client_for(user, org).get("/api/v1/orders/")  # warm the permission cache only
    computations = []
    original = views.filter_products

    def slow_filter(queryset, params):
        computations.append(1)
        time.sleep(0.3)  # a slow query: the window in which the other misses arrive
        return original(queryset, params)

    monkeypatch.setattr(views, "filter_products", slow_filter)
    if not guarded:
        monkeypatch.setattr(views.ProductViewSet, "stampede_guarded_actions", ())
    responses = _concurrent_list(lambda: client_for(user, org), 6)
    assert [r.status_code for r in responses] == [200] * 6
    assert len({r.content for r in responses}) == 1
    if guarded:
        assert len(computations) == 1
        assert sorted(r["X-Cache"] for r in responses) == ["HIT"] * 5 + ["MISS"]
    else:  # the measurement can fail: without the guard every miss hits the database
        assert len(computations) == 6

"""Pagination of every list: bounded exact counts, planner estimates above the limit, an offset
ceiling, and cursor mode (core/api/pagination.py)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders import services
from api.v1.sales.orders.models import Order

PRODUCTS = "/api/v1/products/"


def _place_orders(org, count):
    product = ProductFactory(organization=org, stock=1000)
    for _ in range(count):
        services.place_order(
            organization_id=org.pk,
            user_id=None,
            lines=[services.LineRequest(product.pk, 1)],
            metadata={},
        )


@pytest.fixture
def viewer(org, member_client):
    return member_client(org, "admin")[0]


def test_small_lists_count_exactly(org, viewer):
    ProductFactory.create_batch(7, organization=org)
    body = viewer.get(PRODUCTS, {"page_size": 5}).json()
    assert (body["count"], body["count_is_estimate"]) == (7, False)
    assert "page=2" in body["next"]


def test_above_the_limit_the_count_is_an_estimate_and_next_stays_exact(
    org, other_org, viewer, settings
):
    settings.API_PAGINATION_EXACT_COUNT_LIMIT = 10
    ProductFactory.create_batch(25, organization=org)
    ProductFactory.create_batch(3, organization=other_org)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE products_product")
    first = viewer.get(PRODUCTS, {"page_size": 10}).json()
    assert first["count_is_estimate"] is True
    assert first["count"] >= 11  # at least what the bounded count saw
    assert len(first["results"]) == 10 and "page=2" in first["next"]
    last = viewer.get(PRODUCTS, {"page_size": 10, "page": 3}).json()
    assert len(last["results"]) == 5 and last["next"] is None
    assert viewer.get(PRODUCTS, {"page_size": 10, "page": 4}).status_code == 404


def test_the_count_reads_at_most_the_limit(org, viewer, settings, django_assert_num_queries):
    settings.API_PAGINATION_EXACT_COUNT_LIMIT = 10
    ProductFactory.create_batch(12, organization=org)
    viewer.get(PRODUCTS)  # warm token and permission caches
    with django_assert_num_queries(2) as queries:  # page with its bounded count + estimate
        viewer.get(PRODUCTS, {"page": 2, "page_size": 5})
    count_sql = queries.captured_queries[0]["sql"]
    assert "COUNT(*)" in count_sql and "LIMIT 11" in count_sql


def test_deep_pages_are_refused_with_a_pointer_to_cursor_mode(org, viewer, settings):
    settings.API_PAGINATION_MAX_OFFSET = 20
    ProductFactory.create_batch(3, organization=org)
    response = viewer.get(PRODUCTS, {"page": 3, "page_size": 10})
    assert response.status_code == 400
    assert "cursor" in response.json()["page"][0]
    assert viewer.get(PRODUCTS, {"page": 2, "page_size": 10}).status_code == 404  # within


@pytest.mark.parametrize("url", [PRODUCTS, "/api/v1/orders/"])
def test_cursor_mode_walks_every_row_once_in_id_order(org, other_org, viewer, url):
    if url == PRODUCTS:
        ProductFactory.create_batch(12, organization=org)
        ProductFactory.create_batch(4, organization=other_org)
        expected = list(Product.objects.filter(organization=org).values_list("id", flat=True))
    else:
        _place_orders(org, 12)
        _place_orders(other_org, 4)
        expected = list(Order.objects.filter(organization=org).values_list("id", flat=True))
    seen, page = [], viewer.get(url, {"cursor": "", "page_size": 5}).json()
    assert set(page) == {"next", "previous", "results"} and page["previous"] is None
    while True:
        seen += [row["id"] for row in page["results"]]
        if not page["next"]:
            break
        page = viewer.get(page["next"]).json()
        assert page["previous"]
    assert seen == sorted(expected)  # all of this organization's rows, none of the other's


def test_cursor_mode_refuses_ordering_and_bad_cursors(org, viewer):
    ProductFactory.create_batch(2, organization=org)
    response = viewer.get(PRODUCTS, {"cursor": "", "ordering": "price"})
    assert response.status_code == 400 and "ordering" in response.json()
    assert viewer.get(PRODUCTS, {"cursor": "not-a-cursor"}).status_code == 404


def test_page_mode_is_one_query_and_an_empty_page_counts_alone(org, viewer, settings):
    """The page carries its bounded count; a page past the end (no rows) asks for the count."""
    ProductFactory.create_batch(7, organization=org)
    viewer.get(PRODUCTS)  # warm token and permission caches
    with CaptureQueriesContext(connection) as queries:
        body = viewer.get(PRODUCTS, {"page": 2, "page_size": 5}).json()
    assert (body["count"], len(body["results"]), body["next"]) == (7, 2, None)
    assert len(queries.captured_queries) == 1
    with CaptureQueriesContext(connection) as queries:
        response = viewer.get(PRODUCTS, {"page": 3, "page_size": 5})
    assert response.status_code == 404 and "only 7 results" in response.json()["detail"]
    assert len(queries.captured_queries) == 2
    Product.objects.filter(organization=org).delete()
    empty = viewer.get(PRODUCTS).json()
    assert (empty["count"], empty["results"], empty["next"]) == (0, [], None)

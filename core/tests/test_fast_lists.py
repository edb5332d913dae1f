"""The row path of list endpoints (core.api.lists) must answer byte for byte what DRF answers.

Each case requests the same list twice: once as served, once with row plans switched off and
``FastModelSerializer`` rendering through DRF's stock ``ModelSerializer.to_representation``
(field objects, ``get_attribute``, per-field ``to_representation``). The response bodies must
be identical bytes, for rows holding edge values (decimals at both ends of their range, big
integers inside the JSON limits, unicode, nested custom fields, nulls, whole-second and
fractional timestamps) in several time zones, through filters, ordering, pages and cursors.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework import serializers

from api.v1.catalog.products.models import Product
from api.v1.catalog.products.serializers import ProductSerializer
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.files.models import FileStorage
from api.v1.files.serializers import FileSerializer
from api.v1.sales.orders.models import Order
from api.v1.sales.orders.numbering import next_order_number
from api.v1.sales.orders.serializers import OrderSerializer
from api.v1.sales.orders.services import LineRequest, place_order
from core.api import lists
from core.api.serializers import FastModelSerializer, row_plan

pytestmark = pytest.mark.django_db

NESTED = {"level": 0}
_cursor = NESTED
for depth in range(1, 30):
    _cursor["child"] = {"level": depth, "items": [depth, None, True]}
    _cursor = _cursor["child"]

EDGE_CUSTOM_FIELDS = [
    {},
    {"color": "red", "size": 3},
    {
        "big": 2**63 - 1,
        "small": -(2**63),
        "unsigned_ok": 2**62,
        "float": 0.1,
        "negative_zero": -0.0,
        "exp": 1.5e-7,
        "null": None,
        "bools": [True, False],
        "empty": {"list": [], "object": {}, "string": ""},
        "ünïcødé ключ": '☃ 😀 עברית \u2028 \u0001 "quoted" back\\slash',
        "color": "red",
    },
    {"nested": NESTED, "color": "blue"},
]


@pytest.fixture(autouse=True)
def _uncached(settings):
    """The response cache would answer the second request with the first one's bytes."""
    settings.API_RESPONSE_CACHE_ENABLED = False


def drf_reference(client, url, params, monkeypatch):
    """The same request answered with row plans off and DRF's own field machinery."""
    with monkeypatch.context() as patch:
        patch.setattr(lists, "row_plan", lambda serializer_class: None)
        patch.setattr(
            FastModelSerializer, "to_representation", serializers.ModelSerializer.to_representation
        )
        return client.get(url, params)


def assert_same_bytes(client, url, params, monkeypatch, model):
    """Same bytes from both paths; the served one builds no instance of the listed model."""

    def no_instances(*args, **kwargs):
        raise AssertionError(f"the row path built a {model.__name__} instance")

    with monkeypatch.context() as patch:
        patch.setattr(model, "from_db", no_instances)
        fast = client.get(url, params)
    slow = drf_reference(client, url, params, monkeypatch)
    assert fast.status_code == slow.status_code == 200, (fast.content, slow.content)
    assert fast.content == slow.content
    return fast.json()


@pytest.fixture
def edge_products(org, other_org):
    prices = [Decimal("0.00"), Decimal("0.10"), Decimal("1234.50"), Decimal("9999999999.99")]
    names = ["Plain", "Ünïcødé ☃ 😀", 'quote " and \\ backslash', "עברית", "x" * 200]
    products = []
    for i in range(12):
        products.append(
            ProductFactory(
                organization=org,
                sku=f"SKU-{i:02}",
                name=names[i % len(names)],
                price=prices[i % len(prices)],
                stock=[0, 1, 2_147_483_647][i % 3],
                custom_fields=EDGE_CUSTOM_FIELDS[i % len(EDGE_CUSTOM_FIELDS)],
            )
        )
    ProductFactory(organization=other_org, sku="FOREIGN")
    # Whole-second and fractional timestamps (isoformat drops zero microseconds).
    whole = datetime.datetime(2024, 2, 29, 23, 59, 59, tzinfo=datetime.UTC)
    Product.objects.filter(pk=products[0].pk).update(created_at=whole, updated_at=whole)
    fraction = datetime.datetime(2024, 3, 31, 0, 30, 0, 1, tzinfo=datetime.UTC)
    Product.objects.filter(pk=products[1].pk).update(created_at=fraction)
    # PostgreSQL's text drops trailing zeros of the fraction (".5"); DRF prints six digits.
    half = datetime.datetime(1999, 12, 31, 23, 59, 59, 500000, tzinfo=datetime.UTC)
    Product.objects.filter(pk=products[2].pk).update(created_at=half, updated_at=half)
    early = datetime.datetime(1, 1, 1, 12, 0, 0, 120000, tzinfo=datetime.UTC)
    Product.objects.filter(pk=products[3].pk).update(updated_at=early)
    return products


def test_serializers_of_the_lists_have_row_plans():
    """Otherwise the lists silently keep the instance path (and this module tests nothing)."""
    for serializer_class in (ProductSerializer, OrderSerializer, FileSerializer):
        assert row_plan(serializer_class) is not None, serializer_class


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin", "Asia/Kolkata", "America/St_Johns"])
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"ordering": "-price"},
        {"ordering": "name"},
        {"ordering": "-updated_at"},
        {"page_size": 5, "page": 2},
        {"page_size": 200},
        {"custom_fields__color": "red"},
        {"custom_fields__size": "3"},
        {"search": "ünï"},
    ],
)
def test_products_list_is_byte_identical(
    edge_products, member_client, org, monkeypatch, settings, tz, params
):
    settings.TIME_ZONE = tz
    client, _ = member_client(org, "viewer")
    body = assert_same_bytes(client, "/api/v1/products/", params, monkeypatch, Product)
    assert body["results"], params
    assert "FOREIGN" not in {p["sku"] for p in body["results"]}


def test_products_cursor_pages_are_byte_identical(edge_products, member_client, org, monkeypatch):
    client, _ = member_client(org, "viewer")
    params = {"cursor": "", "page_size": 5}
    seen = []
    for _ in range(4):
        body = assert_same_bytes(client, "/api/v1/products/", params, monkeypatch, Product)
        seen += [p["id"] for p in body["results"]]
        if body["next"] is None:
            break
        params = dict(parse_qsl(urlsplit(body["next"]).query))
    assert seen == sorted(p.pk for p in edge_products)


def test_orders_list_with_nested_lines_is_byte_identical(org, member_client, monkeypatch):
    a = ProductFactory(organization=org, price=Decimal("0.10"), stock=100)
    b = ProductFactory(organization=org, price=Decimal("9999999999.99"), stock=100)
    for lines in ([LineRequest(a.pk, 3), LineRequest(b.pk, 1)], [LineRequest(b.pk, 2)]):
        place_order(
            organization_id=org.pk,
            user_id=None,
            lines=lines,
            # 1e300 comes back from jsonb as a 301-digit integer: the renderer's stdlib fallback.
            metadata={"reference": "PO-ü😀", "n": 2**63 - 1, "nested": {"a": [1e300, None]}},
        )
    Order.objects.create(organization=org, number=next_order_number(org.pk))  # no lines
    client, _ = member_client(org, "viewer")
    for params in ({}, {"ordering": "-total"}, {"cursor": ""}, {"page_size": 1, "page": 2}):
        body = assert_same_bytes(client, "/api/v1/orders/", params, monkeypatch, Order)
        assert body["results"], params
    assert [len(o["lines"]) for o in client.get("/api/v1/orders/").json()["results"]] == [2, 1, 0]


def test_files_list_with_nulls_is_byte_identical(org, member_client, monkeypatch):
    order = Order.objects.create(organization=org, number=next_order_number(org.pk))
    order_type = ContentType.objects.get_for_model(Order)
    for i, (attached_type, attached_id) in enumerate([(None, None), (order_type, order.pk)]):
        FileStorage.objects.create(
            organization=org,
            file=f"files/test-{i}.bin",
            original_name=["ünï ☃.pdf", "plain.txt"][i],
            size=[1, 2**40][i],
            content_type="application/pdf",
            sha256="0" * 64,
            attached_type=attached_type,
            attached_id=attached_id,
        )
    client, _ = member_client(org, "viewer")
    for params in ({}, {"ordering": "-size"}, {"attached_type": "orders.order"}):
        body = assert_same_bytes(client, "/api/v1/files/", params, monkeypatch, FileStorage)
        assert body["results"], params
    results = client.get("/api/v1/files/").json()["results"]
    assert [f["attached_to"] for f in results] == [None, {"type": "orders.order", "id": order.pk}]


def test_count_reads_only_the_primary_key(edge_products, member_client, org):
    """The rows select every column as text; the bounded COUNT riding on the page query must
    read only the primary key (an index-only scan), and the page is the list's one query."""
    client, _ = member_client(org, "viewer")
    client.get("/api/v1/products/")  # warm token and permission caches
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/products/").status_code == 200
    assert len(queries.captured_queries) == 1
    counts = re.findall(r"\(SELECT COUNT\(\*\) FROM \((.*?)\) AS bounded\)", queries[0]["sql"])
    assert counts == [
        'SELECT "products_product"."id" AS "pk" FROM "products_product" '
        f'WHERE "products_product"."organization_id" = {org.pk} LIMIT 10001'
    ]

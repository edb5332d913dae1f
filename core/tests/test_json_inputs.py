"""JSON that is stored is JSON that renders (issue 9): inputs beyond the renderer's limits are
refused with 400 naming the field and write nothing; rows stored beyond them by other means
(SQL, older versions) still render, so one row can't break an organization's lists."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal

import pytest
from django.db import connection

from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.models import Order
from core.api.json_limits import MAX_DEPTH

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
ORDERS = "/api/v1/orders/"
HUGE = 123456789012345678901234567890


def nested(depth: int, leaf=1):
    """A JSON object nested ``depth`` levels deep (the outer object is level 1)."""
    value = leaf
    for _ in range(depth - 1):
        value = {"k": value}
    return {"k": value}


VERY_DEEP = nested(900)


def product_body(custom_fields):
    return {"sku": "SKU-J", "name": "Json", "price": "1.00", "custom_fields": custom_fields}


@pytest.mark.parametrize(
    "custom_fields, message",
    [
        (nested(MAX_DEPTH + 1), "deeper than 32"),
        (VERY_DEEP, "deeper than 32"),
        ({"n": HUGE}, "64-bit"),
        ({"n": -(2**63) - 1}, "64-bit"),
        ({"list": [1, 2, [3, {"n": 2**64}]]}, "64-bit"),
    ],
)
def test_product_custom_fields_beyond_limits_are_400_and_write_nothing(
    org, member_client, custom_fields, message
):
    client, _ = member_client(org, "admin")
    response = client.post(PRODUCTS, product_body(custom_fields), format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    if "custom_fields" not in body and custom_fields is VERY_DEEP:
        # 900 levels: whether the standard library's parser runs out of stack first (a clean
        # 400 from core.api.parsers) or the depth check names the field depends on how deep the
        # stack already is (middleware, xdist); either way it is a 400 and nothing is written.
        assert "nested too deeply" in body["detail"], body
    else:
        assert message in body["custom_fields"][0], body
    assert not Product.objects.filter(organization=org).exists()


def test_values_at_the_limits_are_accepted_and_render(org, member_client):
    client, _ = member_client(org, "admin")
    edge = {"deep": nested(MAX_DEPTH - 1), "max": 2**63 - 1, "min": -(2**63), "f": 1.5}
    response = client.post(PRODUCTS, product_body(edge), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["custom_fields"] == edge
    assert client.get(f"{PRODUCTS}{response.json()['id']}/").json()["custom_fields"] == edge


def test_update_beyond_limits_is_400_and_keeps_the_old_value(org, member_client):
    client, _ = member_client(org, "admin")
    product = ProductFactory(organization=org, custom_fields={"color": "red"})
    response = client.patch(
        f"{PRODUCTS}{product.pk}/", {"custom_fields": {"n": HUGE}}, format="json"
    )
    assert response.status_code == 400 and "custom_fields" in response.json()
    product.refresh_from_db()
    assert product.custom_fields == {"color": "red"}


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_non_finite_numbers_are_400(org, member_client, literal):
    client, _ = member_client(org, "admin")
    body = json.dumps(product_body({})).replace("{}", '{"n": ' + literal + "}")
    response = client.post(PRODUCTS, body, content_type="application/json")
    assert response.status_code == 400, response.content
    assert not Product.objects.filter(organization=org).exists()


@pytest.mark.parametrize("depth", [100_000, 900, 201])
def test_body_nested_past_the_parsers_stack_is_400_not_500(org, member_client, depth):
    """Past the interpreter's stack (100k), near it (900: parses, but re-encoding it deeper in
    the request would overflow) or past the parser's limit (200): one clean 400."""
    client, _ = member_client(org, "admin")
    body = '{"sku": "S", "name": "N", "price": "1", "custom_fields": ' + "[" * depth
    body += "]" * depth + "}"
    response = client.post(PRODUCTS, body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]
    assert not Product.objects.filter(organization=org).exists()


def test_order_metadata_beyond_limits_is_400_and_takes_no_stock(org, member_client):
    product = ProductFactory(organization=org, price=Decimal("2.00"), stock=5)
    client, _ = member_client(org, "member")
    for metadata in (nested(150), {"n": HUGE}):
        response = client.post(
            ORDERS,
            {"lines": [{"product": product.pk, "quantity": 1}], "metadata": metadata},
            format="json",
        )
        assert response.status_code == 400, response.content
        assert "metadata" in response.json()
    assert not Order.objects.filter(organization=org).exists()
    product.refresh_from_db()
    assert product.stock == 5


def test_rows_stored_beyond_the_limits_still_render(
    org, member_client, django_capture_on_commit_callbacks
):
    """Inserted by SQL (as an older version or a script could have): list, detail and export
    answer 200 for the organization, with the stored values intact."""
    normal = ProductFactory(organization=org, custom_fields={"color": "red"})
    deep = ProductFactory(organization=org)
    huge = ProductFactory(organization=org)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE products_product SET custom_fields = %s::jsonb WHERE id = %s",
            [json.dumps(nested(300)), deep.pk],
        )
        cursor.execute(
            "UPDATE products_product SET custom_fields = %s::jsonb WHERE id = %s",
            [json.dumps({"n": HUGE}), huge.pk],
        )
    client, _ = member_client(org, "admin")

    listing = client.get(PRODUCTS)
    assert listing.status_code == 200
    by_id = {row["id"]: row for row in json.loads(listing.content)["results"]}
    assert by_id[normal.pk]["custom_fields"] == {"color": "red"}
    assert by_id[huge.pk]["custom_fields"] == {"n": HUGE}
    assert by_id[deep.pk]["custom_fields"] == nested(300)
    detail = client.get(f"{PRODUCTS}{huge.pk}/")
    assert detail.status_code == 200 and json.loads(detail.content)["custom_fields"]["n"] == HUGE

    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/exports/", {"kind": "products", "format": "csv"})
    export = client.get(f"/api/v1/exports/{created.json()['id']}/").json()
    assert export["status"] == "done" and export["row_count"] == 3, export
    download = client.get(export["download_url"])
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    column = rows[0].index("custom_fields")
    cells = {int(row[0]): json.loads(row[column]) for row in rows[1:]}
    assert cells[huge.pk] == {"n": HUGE}

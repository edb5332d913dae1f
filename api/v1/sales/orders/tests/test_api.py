from decimal import Decimal

import pytest

from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.models import Order, OrderLine
from api.v1.sales.orders.services import LineRequest, place_order

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def order_payload(*lines, metadata=None):
    payload = {"lines": [{"product": p.pk, "quantity": q} for p, q in lines]}
    if metadata is not None:
        payload["metadata"] = metadata
    return payload


@pytest.fixture
def products(org):
    return (
        ProductFactory(organization=org, price=Decimal("2.50"), stock=10),
        ProductFactory(organization=org, price=Decimal("4.00"), stock=3),
    )


class TestPlaceOrder:
    def test_places_order_takes_stock_and_totals(self, org, products, member_client):
        a, b = products
        client, user = member_client(org, "member")
        response = client.post(URL, order_payload((a, 4), (b, 3), metadata={"po": "PO-1"}))
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["status"] == "placed"
        assert body["total"] == "22.00"
        assert body["metadata"] == {"po": "PO-1"}
        assert body["lines"] == [
            {"product": a.pk, "quantity": 4, "unit_price": "2.50"},
            {"product": b.pk, "quantity": 3, "unit_price": "4.00"},
        ]
        assert set(body) >= {"id", "status", "lines", "total", "metadata", "created_at"}
        a.refresh_from_db(), b.refresh_from_db()
        assert (a.stock, b.stock) == (6, 0)
        order = Order.objects.get(pk=body["id"])
        assert order.organization_id == org.pk and order.created_by_id == user.pk

    def test_insufficient_stock_is_409_naming_the_line_and_changes_nothing(
        self, org, products, member_client
    ):
        a, b = products
        client, _ = member_client(org, "member")
        response = client.post(URL, order_payload((a, 1), (b, 4)))
        assert response.status_code == 409
        body = response.json()
        assert body["line"] == 1 and body["product"] == b.pk
        assert body["requested"] == 4 and body["available"] == 3
        a.refresh_from_db(), b.refresh_from_db()
        assert (a.stock, b.stock) == (10, 3)
        assert not Order.objects.exists() and not OrderLine.objects.exists()

    def test_repeated_product_lines_are_checked_together(self, org, products, member_client):
        _, b = products
        client, _ = member_client(org, "member")
        assert client.post(URL, order_payload((b, 2), (b, 2))).status_code == 409
        b.refresh_from_db()
        assert b.stock == 3

    def test_product_of_another_organization_does_not_exist(
        self, org, products, foreign_product, member_client
    ):
        a, _ = products
        client, _ = member_client(org, "member")
        response = client.post(URL, order_payload((a, 1), (foreign_product, 1)))
        assert response.status_code == 400
        assert "does not exist" in response.json()["lines"][1]["product"][0]
        assert response.json()["lines"][0] == {}
        a.refresh_from_db(), foreign_product.refresh_from_db()
        assert a.stock == 10 and foreign_product.stock == 100
        assert not Order.objects.exists()

    @pytest.mark.parametrize(
        "payload, field",
        [
            ({"lines": []}, "lines"),
            ({}, "lines"),
            ({"lines": "abc"}, "lines"),
            ({"lines": [{"product": 1, "quantity": 0}]}, "lines"),
            ({"lines": [{"product": 1, "quantity": "two"}]}, "lines"),
            ({"lines": [{"product": "x", "quantity": 1}]}, "lines"),
            ({"lines": [{"quantity": 1}]}, "lines"),
            ({"lines": [{"product": 1, "quantity": 1}], "metadata": [1]}, "metadata"),
        ],
    )
    def test_bad_payload_is_400_naming_the_field(
        self, org, products, member_client, payload, field
    ):
        client, _ = member_client(org, "member")
        response = client.post(URL, payload, format="json")
        assert response.status_code == 400
        assert field in response.json()
        assert not Order.objects.exists()

    def test_viewer_cannot_order(self, org, products, member_client):
        client, _ = member_client(org, "viewer")
        assert client.post(URL, order_payload((products[0], 1))).status_code == 403
        assert not Order.objects.exists()


class TestCancel:
    def test_cancel_restores_stock_exactly_once(self, org, products, member_client):
        a, b = products
        client, _ = member_client(org, "member")
        order_id = client.post(URL, order_payload((a, 4), (b, 1))).json()["id"]
        first = client.post(f"{URL}{order_id}/cancel/")
        assert first.status_code == 200 and first.json()["status"] == "cancelled"
        second = client.post(f"{URL}{order_id}/cancel/")
        assert second.status_code == 200 and second.json()["status"] == "cancelled"
        a.refresh_from_db(), b.refresh_from_db()
        assert (a.stock, b.stock) == (10, 3)

    def test_viewer_cannot_cancel(self, org, products, member_client):
        client, _ = member_client(org, "member")
        order_id = client.post(URL, order_payload((products[0], 1))).json()["id"]
        viewer, _ = member_client(org, "viewer")
        assert viewer.post(f"{URL}{order_id}/cancel/").status_code == 403
        assert Order.objects.get(pk=order_id).status == "placed"


class TestIsolation:
    def test_other_organizations_orders_are_invisible_and_404(self, org, other_org, member_client):
        foreign = ProductFactory(organization=other_org, stock=5)
        foreign_client, _ = member_client(other_org, "member")
        foreign_order = foreign_client.post(URL, order_payload((foreign, 2))).json()["id"]
        own_product = ProductFactory(organization=org)
        client, _ = member_client(org, "owner")
        own_order = client.post(URL, order_payload((own_product, 1))).json()["id"]

        assert [o["id"] for o in client.get(URL).json()["results"]] == [own_order]
        assert client.get(f"{URL}{foreign_order}/").status_code == 404
        assert client.post(f"{URL}{foreign_order}/cancel/").status_code == 404
        foreign.refresh_from_db()
        assert foreign.stock == 3
        assert Order.objects.get(pk=foreign_order).status == "placed"

    @pytest.mark.parametrize("page_size", [1, 20])
    def test_list_query_count_is_constant(
        self, org, member_client, django_assert_num_queries, page_size
    ):
        stocked = ProductFactory(organization=org, stock=1000)
        other = ProductFactory(organization=org, stock=1000)
        for _ in range(20):
            place_order(
                organization_id=org.pk,
                user_id=None,
                lines=[LineRequest(stocked.pk, 1), LineRequest(other.pk, 2)],
                metadata={},
            )
        client, _ = member_client(org, "viewer")
        # token + membership (cold) + orders page (with its bounded COUNT) + the page's lines
        with django_assert_num_queries(4):
            response = client.get(URL, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size
        assert all(len(order["lines"]) == 2 for order in response.json()["results"])

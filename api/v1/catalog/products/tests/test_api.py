from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.services import LineRequest, place_order
from core.api.exceptions import exception_handler

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def detail(product):
    return f"{URL}{product.pk}/"


class TestTenancyIsolation:
    def test_list_shows_only_own_organization(self, org, other_org, member_client):
        ProductFactory.create_batch(3, organization=org)
        ProductFactory.create_batch(2, organization=other_org)
        client, _ = member_client(org, "viewer")
        response = client.get(URL)
        assert response.status_code == 200
        assert response.json()["count"] == 3
        assert {p["id"] for p in response.json()["results"]} == set(
            Product.objects.filter(organization=org).values_list("id", flat=True)
        )

    def test_foreign_product_is_404_on_every_route(self, org, foreign_product, member_client):
        client, _ = member_client(org, "owner")
        assert client.get(detail(foreign_product)).status_code == 404
        assert (
            client.put(detail(foreign_product), {"sku": "x", "name": "x", "price": "1"}).status_code
            == 404
        )
        assert client.patch(detail(foreign_product), {"stock": 0}).status_code == 404
        assert client.delete(detail(foreign_product)).status_code == 404
        foreign_product.refresh_from_db()
        assert foreign_product.stock == 100

    def test_search_and_custom_field_filters_stay_in_the_organization(
        self, org, other_org, member_client
    ):
        ProductFactory(organization=org, sku="RED-1", custom_fields={"color": "red", "size": 10})
        ProductFactory(organization=org, sku="BLUE-1", custom_fields={"color": "blue", "size": 12})
        ProductFactory(
            organization=other_org, sku="RED-2", custom_fields={"color": "red", "size": 10}
        )
        client, _ = member_client(org, "viewer")
        assert [p["sku"] for p in client.get(URL, {"search": "red"}).json()["results"]] == ["RED-1"]
        assert [
            p["sku"] for p in client.get(URL, {"custom_fields__color": "red"}).json()["results"]
        ] == ["RED-1"]
        assert [
            p["sku"] for p in client.get(URL, {"custom_fields__size": "12"}).json()["results"]
        ] == ["BLUE-1"]
        assert client.get(URL, {"custom_fields__color": "green"}).json()["count"] == 0


class TestCrud:
    def test_create_and_read_back(self, org, member_client):
        client, _ = member_client(org, "admin")
        response = client.post(
            URL,
            {
                "sku": "A-1",
                "name": "Anvil",
                "price": "12.50",
                "stock": 3,
                "custom_fields": {"c": 1},
            },
        )
        assert response.status_code == 201, response.content
        body = response.json()
        assert body["price"] == "12.50" and body["stock"] == 3 and body["custom_fields"] == {"c": 1}
        assert set(body) == {
            "id",
            "sku",
            "name",
            "price",
            "stock",
            "custom_fields",
            "created_at",
            "updated_at",
        }
        product = Product.objects.get(pk=body["id"])
        assert product.organization_id == org.pk and product.price == Decimal("12.50")
        assert client.get(detail(product)).json() == body

    def test_update_and_delete(self, org, product, member_client):
        client, _ = member_client(org, "admin")
        response = client.patch(detail(product), {"price": "99.90"})
        assert response.status_code == 200 and response.json()["price"] == "99.90"
        response = client.put(
            detail(product), {"sku": "NEW", "name": "Renamed", "price": "1.00", "stock": 7}
        )
        assert response.status_code == 200 and response.json()["sku"] == "NEW"
        assert client.delete(detail(product)).status_code == 204
        assert not Product.objects.filter(pk=product.pk).exists()

    def test_same_sku_in_two_organizations_is_fine(self, org, other_org, member_client):
        ProductFactory(organization=other_org, sku="SHARED")
        client, _ = member_client(org, "admin")
        assert client.post(URL, {"sku": "SHARED", "name": "x", "price": "1"}).status_code == 201

    def test_duplicate_sku_is_409_naming_sku(self, org, product, member_client):
        client, _ = member_client(org, "admin")
        response = client.post(URL, {"sku": product.sku, "name": "dup", "price": "1"})
        assert response.status_code == 409
        assert "sku" in response.json()
        assert Product.objects.filter(organization=org).count() == 1

    def test_deleting_a_product_on_an_order_is_409(self, org, product, member_client):
        place_order(
            organization_id=org.pk, user_id=None, lines=[LineRequest(product.pk, 1)], metadata={}
        )
        client, _ = member_client(org, "admin")
        response = client.delete(detail(product))
        assert response.status_code == 409
        assert Product.objects.filter(pk=product.pk).exists()


class TestValidation:
    @pytest.mark.parametrize(
        "payload, field",
        [
            ({"sku": "V", "name": "n", "price": "-0.01"}, "price"),
            ({"sku": "V", "name": "n", "price": "1", "stock": -1}, "stock"),
            ({"sku": "V", "name": "n", "price": "abc"}, "price"),
            ({"sku": "V", "name": "n", "price": "1", "stock": "many"}, "stock"),
            ({"sku": "V", "name": "n", "price": "1", "stock": 2**40}, "stock"),
            ({"sku": "V", "name": "n", "price": "12345678901234.00"}, "price"),
            ({"sku": "V", "name": "n", "price": "1", "custom_fields": [1, 2]}, "custom_fields"),
            ({"sku": "V", "name": "n", "price": "1", "custom_fields": "text"}, "custom_fields"),
            ({"sku": "", "name": "n", "price": "1"}, "sku"),
            ({"sku": "V" * 65, "name": "n", "price": "1"}, "sku"),
            ({"sku": "V", "price": "1"}, "name"),
            ({"sku": "V\x00", "name": "n", "price": "1"}, "sku"),
        ],
    )
    def test_bad_values_are_400_naming_the_field(self, org, member_client, payload, field):
        client, _ = member_client(org, "admin")
        response = client.post(URL, payload, format="json")
        assert response.status_code == 400, response.content
        assert field in response.json()
        assert not Product.objects.exists()

    def test_malformed_json_is_400(self, org, member_client):
        client, _ = member_client(org, "admin")
        response = client.post(URL, data='{"sku": "x", ', content_type="application/json")
        assert response.status_code == 400
        assert "JSON parse error" in response.json()["detail"]

    def test_nul_character_inside_custom_fields_is_400(self, org, member_client):
        client, _ = member_client(org, "admin")
        response = client.post(
            URL,
            {"sku": "N", "name": "n", "price": "1", "custom_fields": {"k": "a\x00b"}},
            format="json",
        )
        assert response.status_code == 400
        assert not Product.objects.exists()

    @pytest.mark.parametrize(
        "query, field",
        [
            ({"ordering": "password"}, "ordering"),
            ({"page_size": "x"}, "page_size"),
            ({"page_size": "0"}, "page_size"),
        ],
    )
    def test_bad_list_parameters_are_400(self, org, member_client, query, field):
        client, _ = member_client(org, "viewer")
        response = client.get(URL, query)
        assert response.status_code == 400
        assert field in response.json()

    def test_database_check_violation_maps_to_400_naming_the_field(self, product):
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            Product.objects.filter(pk=product.pk).update(stock=-5)
        response = exception_handler(caught.value, {})
        assert response.status_code == 400
        assert "stock" in response.data
        with pytest.raises(IntegrityError) as caught, transaction.atomic():
            Product.objects.filter(pk=product.pk).update(price=Decimal("-1"))
        assert "price" in exception_handler(caught.value, {}).data


class TestPaginationAndQueries:
    def test_pagination_shape_default_and_cap(self, org, member_client):
        ProductFactory.create_batch(205, organization=org)
        client, _ = member_client(org, "viewer")
        body = client.get(URL).json()
        assert body["count"] == 205 and len(body["results"]) == 50
        assert body["previous"] is None and "page=2" in body["next"]
        assert len(client.get(URL, {"page_size": 500}).json()["results"]) == 200
        last = client.get(URL, {"page": 3, "page_size": 100}).json()
        assert len(last["results"]) == 5 and last["next"] is None
        assert client.get(URL, {"page": 99}).status_code == 404

    def test_ordering(self, org, member_client):
        ProductFactory(organization=org, sku="B", price=Decimal("2"))
        ProductFactory(organization=org, sku="A", price=Decimal("3"))
        ProductFactory(organization=org, sku="C", price=Decimal("1"))
        client, _ = member_client(org, "viewer")
        assert [p["sku"] for p in client.get(URL, {"ordering": "sku"}).json()["results"]] == [
            "A",
            "B",
            "C",
        ]
        assert [p["sku"] for p in client.get(URL, {"ordering": "-price"}).json()["results"]] == [
            "A",
            "B",
            "C",
        ]

    @pytest.mark.parametrize("page_size", [1, 50, 200])
    def test_list_query_count_is_constant(
        self, org, member_client, django_assert_num_queries, page_size
    ):
        ProductFactory.create_batch(200, organization=org)
        client, _ = member_client(org, "viewer")
        # token authentication + membership/permissions (both cold here) + the page, which
        # carries the bounded COUNT as a scalar subquery (core/api/pagination.py)
        with django_assert_num_queries(3):
            response = client.get(URL, {"page_size": page_size})
        assert len(response.json()["results"]) == page_size

    def test_detail_query_count(self, org, product, member_client, django_assert_num_queries):
        client, _ = member_client(org, "viewer")
        with django_assert_num_queries(3):
            assert client.get(detail(product)).status_code == 200

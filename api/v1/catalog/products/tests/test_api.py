from decimal import Decimal

import pytest

from api.v1.catalog.products.models import Product
from core.testing.factories import ProductFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/products/"


def test_list_shows_only_own_organization(org, other_org, member_client):
    ProductFactory.create_batch(3, organization=org)
    ProductFactory.create_batch(2, organization=other_org)
    client, _ = member_client(org, "viewer")
    response = client.get(URL)
    assert response.status_code == 200
    assert response.json()["count"] == 3
    assert {p["id"] for p in response.json()["results"]} == set(
        Product.objects.filter(organization=org).values_list("id", flat=True)
    )


def test_create_and_read_back(org, member_client):
    client, _ = member_client(org, "admin")
    response = client.post(
        URL,
        {"sku": "A-1", "name": "Anvil", "price": "12.50", "stock": 3, "custom_fields": {"c": 1}},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["price"] == "12.50" and body["stock"] == 3 and body["custom_fields"] == {"c": 1}
    assert Product.objects.get(pk=body["id"]).price == Decimal("12.50")

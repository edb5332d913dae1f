"""FastModelSerializer must render exactly what DRF's own field machinery renders."""

import zoneinfo
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from api.v1.catalog.products.serializers import ProductSerializer
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.serializers import OrderSerializer
from api.v1.sales.orders.services import LineRequest, place_order

pytestmark = pytest.mark.django_db


def drf_rendering(serializer_class, instance):
    """The same serializer rendered by DRF's stock Serializer.to_representation."""
    serializer = serializer_class(instance)
    return serializers.ModelSerializer.to_representation(serializer, instance)


@pytest.mark.parametrize("tz", ["UTC", "Europe/Berlin"])
def test_product_output_matches_drf(org, tz):
    product = ProductFactory(
        organization=org, price=Decimal("1234.50"), custom_fields={"a": [1, {"b": None}]}
    )
    with timezone.override(zoneinfo.ZoneInfo(tz)):
        assert ProductSerializer(product).data == drf_rendering(ProductSerializer, product)


def test_order_output_with_nested_lines_matches_drf(org):
    a = ProductFactory(organization=org, price=Decimal("0.10"))
    b = ProductFactory(organization=org, price=Decimal("99999.99"))
    order = place_order(
        organization_id=org.pk,
        user_id=None,
        lines=[LineRequest(a.pk, 3), LineRequest(b.pk, 1)],
        metadata={"k": "v"},
    )
    fast = OrderSerializer(order).data
    expected = drf_rendering(OrderSerializer, order)
    assert fast == expected
    assert fast["total"] == "100000.29"

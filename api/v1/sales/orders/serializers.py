from drf_spectacular.utils import OpenApiExample, extend_schema_serializer
from rest_framework import serializers

from core.api.fields import JSONObjectField
from core.api.serializers import FastModelSerializer

from .models import Order, OrderLine


class OrderLineSerializer(FastModelSerializer):
    class Meta:
        model = OrderLine
        fields = ["product", "quantity", "unit_price"]


class OrderSerializer(FastModelSerializer):
    lines = OrderLineSerializer(many=True, read_only=True)

    class Meta:
        model = Order
        fields = ["id", "number", "status", "lines", "total", "metadata", "created_at"]
        read_only_fields = fields


class OrderLineInputSerializer(serializers.Serializer):
    product = serializers.IntegerField(
        min_value=1, max_value=2**63 - 1, help_text="id of a product of the organization"
    )
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


@extend_schema_serializer(
    examples=[
        OpenApiExample(
            "Two of product 1",
            value={"lines": [{"product": 1, "quantity": 2}], "metadata": {"reference": "PO-1234"}},
            request_only=True,
        )
    ]
)
class OrderCreateSerializer(serializers.Serializer):
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    metadata = JSONObjectField(required=False, default=dict)

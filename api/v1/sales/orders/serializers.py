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
    product = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    quantity = serializers.IntegerField(min_value=1, max_value=1_000_000)


class OrderCreateSerializer(serializers.Serializer):
    lines = OrderLineInputSerializer(many=True, allow_empty=False, max_length=500)
    metadata = JSONObjectField(required=False, default=dict)

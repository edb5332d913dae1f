from rest_framework import serializers

from core.api.fields import JSONObjectField
from core.api.serializers import FastModelSerializer

from .models import Product

MAX_INT32 = 2_147_483_647


class ProductSerializer(FastModelSerializer):
    price = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0)
    stock = serializers.IntegerField(min_value=0, max_value=MAX_INT32, required=False, default=0)
    custom_fields = JSONObjectField(required=False, default=dict)

    class Meta:
        model = Product
        fields = [
            "id",
            "sku",
            "name",
            "price",
            "stock",
            "custom_fields",
            "created_at",
            "updated_at",
        ]
        read_only_fields = ["id", "created_at", "updated_at"]

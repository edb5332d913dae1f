from rest_framework import serializers

from core.api.serializers import FastModelSerializer

from .models import Invoice, InvoiceLine, InvoiceStatus


class InvoiceLineSerializer(FastModelSerializer):
    class Meta:
        model = InvoiceLine
        fields = ["product", "quantity", "unit_price"]


class InvoiceExportSerializer(FastModelSerializer):
    """The invoice without its lines: the columns of the ``invoices`` export."""

    class Meta:
        model = Invoice
        fields = ["id", "number", "order", "status", "total", "issued_at", "paid_at", "created_at"]
        read_only_fields = fields


class InvoiceSerializer(InvoiceExportSerializer):
    lines = InvoiceLineSerializer(many=True, read_only=True)

    class Meta(InvoiceExportSerializer.Meta):
        fields = [
            "id",
            "number",
            "order",
            "status",
            "lines",
            "total",
            "issued_at",
            "paid_at",
            "created_at",
        ]
        read_only_fields = fields


class InvoiceCreateSerializer(serializers.Serializer):
    order = serializers.IntegerField(min_value=1, max_value=2**63 - 1)


STATUS_FILTER = serializers.ChoiceField(choices=InvoiceStatus.choices)

from __future__ import annotations

from functools import cache

from django.apps import apps
from rest_framework import serializers

from .models import AuditRecord


@cache
def _field_names(object_type: str) -> dict[str, str]:
    """{column: field name} of the model ``<app_label>.<model>`` ({} once it is gone)."""
    try:
        model = apps.get_model(object_type)
    except (LookupError, ValueError):
        return {}
    return {field.column: field.name for field in model._meta.concrete_fields}


class AuditRecordSerializer(serializers.ModelSerializer):
    actor = serializers.IntegerField(source="actor_id", allow_null=True, read_only=True)
    changes = serializers.SerializerMethodField()

    class Meta:
        model = AuditRecord
        fields = [
            "id",
            "created_at",
            "actor",
            "action",
            "object_type",
            "object_id",
            "changes",
            "request_id",
        ]
        read_only_fields = fields

    def get_changes(self, record) -> dict[str, list]:
        """``{field: [old, new]}`` by the model's field names (the trigger records columns:
        ``product_id`` is ``product``)."""
        names = _field_names(record.object_type)
        return {names.get(column, column): pair for column, pair in record.changes.items()}

from django.contrib.contenttypes.models import ContentType
from rest_framework import serializers

from core.api.serializers import FastModelSerializer

from .models import FileStorage
from .selectors import access_attach_target, type_label

__all__ = ["FileSerializer", "FileUploadSerializer"]


class FileUploadSerializer(serializers.Serializer):
    """Input of ``POST /files/`` (multipart): the file and an optional ``attach_to`` JSON."""

    file = serializers.FileField(allow_empty_file=False)
    attach_to = serializers.CharField(
        required=False,
        allow_blank=True,  # an empty form field: not attached (as a missing one)
        help_text='JSON {"type": "<app_label>.<model>", "id": <id>} of an object of your '
        "organization, e.g. an order. Empty or absent: not attached.",
    )

    def validate_attach_to(self, value):
        if not value:
            return None
        organization_id = self.context["organization_context"].organization_id
        return access_attach_target(organization_id, value)


class FileSerializer(FastModelSerializer):
    name = serializers.CharField(source="original_name", read_only=True)
    attached_to = serializers.SerializerMethodField()
    # get_attached_to reads only columns: lists render it from values_list rows (core.api.lists).
    row_methods = ("get_attached_to",)

    class Meta:
        model = FileStorage
        fields = [
            "id",
            "name",
            "size",
            "content_type",
            "sha256",
            "created_at",
            "attached_to",
            "scan_status",
        ]
        read_only_fields = fields

    def get_attached_to(self, instance) -> dict | None:
        if instance.attached_type_id is None:
            return None
        # get_for_id is served from ContentType's process cache: no query per row.
        content_type = ContentType.objects.get_for_id(instance.attached_type_id)
        return {"type": type_label(content_type), "id": instance.attached_id}

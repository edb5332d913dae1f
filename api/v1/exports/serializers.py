from django.urls import reverse
from rest_framework import serializers

from core.api.serializers import FastModelSerializer
from core.registry import registry

from .constants import ExportFormat, ExportStatus
from .models import Export


class ExportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The kinds the installed modules registered (core.registry.register_export_source).
        self.fields["kind"].choices = [
            (source.kind, source.label) for source in registry["export_sources"].values()
        ]


class ExportSerializer(FastModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        # attempts: runs started so far; next_attempt_at: when a transiently failed run is
        # retried (status "pending" meanwhile), else null. Added fields: the status values are
        # unchanged (docs/celery.md, exports API).
        fields = [
            "id", "kind", "status", "row_count", "error", "download_url", "attempts",
            "next_attempt_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        if export.status != ExportStatus.DONE:
            return None
        request = self.context.get("request")
        path = reverse("export-download", kwargs={"pk": export.pk})
        return request.build_absolute_uri(path) if request is not None else path

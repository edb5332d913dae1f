from django.urls import reverse
from rest_framework import serializers

from core.api.serializers import FastModelSerializer

from .constants import ExportFormat, ExportKind, ExportStatus
from .models import Export


class ExportCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ExportKind.choices)
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)


class ExportSerializer(FastModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = Export
        fields = ["id", "kind", "status", "row_count", "error", "download_url"]
        read_only_fields = fields

    def get_download_url(self, export) -> str | None:
        if export.status != ExportStatus.DONE:
            return None
        request = self.context.get("request")
        path = reverse("export-download", kwargs={"pk": export.pk})
        return request.build_absolute_uri(path) if request is not None else path

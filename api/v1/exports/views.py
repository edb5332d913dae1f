from django.core.files.storage import default_storage
from django.http import FileResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from core.permissions.viewsets import OrganizationScopedViewSet

from . import services
from .constants import ExportStatus
from .models import Export
from .permissions import Perm
from .serializers import ExportCreateSerializer, ExportSerializer


class ExportViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """Exports of the caller's organization. Everything needs ``exports.create``: a file holds
    the whole organization's data, so only those allowed to make one may read one."""

    queryset = Export.objects.all()
    serializer_class = ExportSerializer
    ordering = ["-id"]
    required_permissions = {
        "list": Perm.EXPORTS_CREATE,
        "retrieve": Perm.EXPORTS_CREATE,
        "create": Perm.EXPORTS_CREATE,
        "download": Perm.EXPORTS_CREATE,
    }

    def get_queryset(self):
        return super().get_queryset().order_by("-id")

    @extend_schema(
        request=ExportCreateSerializer,
        responses={202: OpenApiResponse(description='{"id": <int>, "status": "pending"}')},
    )
    def create(self, request, *args, **kwargs):
        payload = ExportCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        export = services.request_export(
            organization_id=self.organization_id,
            user_id=request.user.pk,
            kind=payload.validated_data["kind"],
            format=payload.validated_data["format"],
        )
        return Response({"id": export.pk, "status": export.status}, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "text/csv"): OpenApiTypes.BINARY})
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        export = self.get_object()  # 404 for other organizations' exports
        if export.status != ExportStatus.DONE or not export.file.name:
            raise NotFound(f"This export has no file yet (status: {export.status}).")
        try:
            handle = default_storage.open(export.file.name, "rb")
        except FileNotFoundError as exc:
            raise NotFound("The export file is gone (expired); request a new export.") from exc
        return FileResponse(
            handle,
            as_attachment=True,
            filename=f"{export.kind}-{export.pk}.{export.format}",
            content_type="text/csv; charset=utf-8",
        )

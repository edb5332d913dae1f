from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from core.api.filters import StrictOrderingFilter
from core.api.lists import ListModelMixin
from core.permissions.viewsets import OrganizationScopedViewSet
from core.registry import registry

from . import services
from .downloads import download_response
from .filters import filter_files
from .models import FileStorage
from .permissions import Perm
from .serializers import FileSerializer, FileUploadSerializer
from .uploads import MULTIPART_OVERHEAD, LimitedUploadHandler, upload_too_large

LIST_PARAMETERS = [
    OpenApiParameter(
        "attached_type",
        OpenApiTypes.STR,
        description="Files attached to this type, e.g. orders.order.",
        enum=sorted(registry["attachable_types"]),
    ),
    OpenApiParameter(
        "attached_id", OpenApiTypes.INT, description="...and to this object (needs attached_type)."
    ),
]


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class FileViewSet(ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet):
    """Uploaded files of the organization: upload, list, metadata, download, delete."""

    queryset = FileStorage.objects.all()
    serializer_class = FileSerializer
    parser_classes = [MultiPartParser]
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id", "created_at", "original_name", "size"]
    ordering = ["id"]
    required_permissions = {
        "list": Perm.FILES_VIEW,
        "retrieve": Perm.FILES_VIEW,
        "download": Perm.FILES_VIEW,
        "create": Perm.FILES_UPLOAD,
        "destroy": Perm.FILES_DELETE,
    }

    def initialize_request(self, request, *args, **kwargs):
        # Before anything reads the body: stream uploads through the size-limited handler.
        if request.method == "POST":
            request.upload_handlers = [LimitedUploadHandler(request)]
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        # Refuse a declared oversize body before anything (even session auth's CSRF check,
        # which parses the form) reads a byte of it, as nginx's client_max_body_size would.
        if self.action == "create":
            limit = settings.MAX_UPLOAD_SIZE
            try:
                declared = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                declared = 0
            if declared > limit + MULTIPART_OVERHEAD:
                raise upload_too_large(limit)
        super().initial(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # A download answers whatever the client accepts (errors are still JSON).
        return super().perform_content_negotiation(
            request, force=force or self.action == "download"
        )

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = filter_files(queryset, self.request.query_params)
        return queryset

    @extend_schema(
        request={"multipart/form-data": FileUploadSerializer}, responses={201: FileSerializer}
    )
    def create(self, request, *args, **kwargs):
        payload = FileUploadSerializer(data=request.data, context=self.get_serializer_context())
        payload.is_valid(raise_exception=True)
        record = services.upload_file(
            organization_id=self.organization_id,
            user_id=request.user.pk,
            file=payload.validated_data["file"],
            attach_to=payload.validated_data.get("attach_to"),
        )
        return Response(FileSerializer(record).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, *args, **kwargs):
        services.delete_file(self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        responses={
            # the stored content type (sniffed at upload: application/pdf, image/png, ...)
            (200, "*/*"): OpenApiResponse(OpenApiTypes.BINARY),
            302: OpenApiResponse(description="Redirect to a short-lived signed URL (S3)."),
            409: OpenApiResponse(description="Not scanned clean yet, or quarantined."),
        }
    )
    @action(detail=True, methods=["get"])
    def download(self, request, pk=None):
        record = self.get_object()
        services.check_downloadable(record)
        return download_response(record)

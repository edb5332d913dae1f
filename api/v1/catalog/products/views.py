from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins

from core.api.caching import CachedResponseMixin
from core.api.filters import StrictOrderingFilter
from core.api.lists import ListModelMixin
from core.permissions.viewsets import OrganizationScopedViewSet

from . import services
from .filters import filter_products
from .models import PRODUCT_RESPONSES, Product
from .permissions import Perm
from .serializers import ProductSerializer

LIST_PARAMETERS = [
    OpenApiParameter("search", OpenApiTypes.STR, description="Substring of sku or name."),
    OpenApiParameter(
        "custom_fields__<key>",
        OpenApiTypes.STR,
        description="Products whose custom field <key> equals the value (string or JSON scalar).",
    ),
]


@extend_schema_view(list=extend_schema(parameters=LIST_PARAMETERS))
class ProductViewSet(
    CachedResponseMixin,
    ListModelMixin,
    mixins.CreateModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    OrganizationScopedViewSet,
):
    """Products of the caller's organization. List and detail responses are cached per
    organization and permission set, and carry an ``ETag`` (``If-None-Match`` → 304)."""

    queryset = Product.objects.all()
    response_cache_scope = PRODUCT_RESPONSES
    serializer_class = ProductSerializer
    filter_backends = [StrictOrderingFilter]
    ordering_fields = ["id", "sku", "name", "price", "stock", "created_at", "updated_at"]
    ordering = ["id"]
    required_permissions = {
        "list": Perm.PRODUCTS_VIEW,
        "retrieve": Perm.PRODUCTS_VIEW,
        "create": Perm.PRODUCTS_MANAGE,
        "update": Perm.PRODUCTS_MANAGE,
        "partial_update": Perm.PRODUCTS_MANAGE,
        "destroy": Perm.PRODUCTS_MANAGE,
    }

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = filter_products(queryset, self.request.query_params)
        return queryset

    def perform_create(self, serializer):
        serializer.instance = services.create_product(
            organization_id=self.organization_id, **serializer.validated_data
        )

    def perform_update(self, serializer):
        services.update_product(serializer.instance, **serializer.validated_data)

    def perform_destroy(self, instance):
        services.delete_product(instance)

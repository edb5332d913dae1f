"""Routes of API v1. Names here are a contract with clients."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView
from rest_framework.routers import SimpleRouter

from api.v1.base_models.organization.views import (
    MemberViewSet,
    OrganizationDetailViewSet,
    OrganizationViewSet,
)
from api.v1.base_models.user.views import MeView, TokenView, UserCreateView
from api.v1.catalog.products.views import ProductViewSet
from api.v1.exports.views import ExportViewSet
from api.v1.files.views import FileViewSet
from api.v1.sales.orders.views import OrderViewSet

router = SimpleRouter()
router.register("organizations", OrganizationViewSet, basename="organization")
router.register("organizations", OrganizationDetailViewSet, basename="organization-detail")
router.register(
    r"organizations/(?P<organization_slug>[-\w]+)/members", MemberViewSet, basename="member"
)
router.register("products", ProductViewSet, basename="product")
router.register("orders", OrderViewSet, basename="order")
router.register("files", FileViewSet, basename="file")
router.register("exports", ExportViewSet, basename="export")

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("me/", MeView.as_view(), name="me"),
    path("users/", UserCreateView.as_view(), name="user-create"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    path("", include(router.urls)),
]

from django.apps import AppConfig


class OrganizationConfig(AppConfig):
    name = "api.v1.base_models.organization"
    label = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from core.registry import register_demo_data, register_permissions, register_route

        from .demo import load_demo
        from .permissions import GRANTS
        from .views import MemberViewSet, OrganizationDetailViewSet, OrganizationViewSet

        register_permissions(GRANTS)
        register_route("organizations", OrganizationViewSet, basename="organization")
        register_route("organizations", OrganizationDetailViewSet, basename="organization-detail")
        register_route(
            r"organizations/(?P<organization_slug>[-\w]+)/members",
            MemberViewSet,
            basename="member",
        )
        register_demo_data("organizations", load_demo)

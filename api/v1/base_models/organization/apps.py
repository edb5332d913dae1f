from django.apps import AppConfig


class OrganizationConfig(AppConfig):
    name = "api.v1.base_models.organization"
    label = "organizations"
    verbose_name = "Organizations"

    def ready(self) -> None:
        from core.registry import register_demo_data, register_permissions, register_route

        from .permissions import GRANTS

        views = f"{self.name}.views"  # imported with the URLconf, not here

        register_permissions(GRANTS)
        register_route("organizations", f"{views}.OrganizationViewSet", basename="organization")
        register_route(
            "organizations", f"{views}.OrganizationDetailViewSet", basename="organization-detail"
        )
        register_route(
            r"organizations/(?P<organization_slug>[-\w]+)/members",
            f"{views}.MemberViewSet",
            basename="member",
        )
        register_demo_data("organizations", f"{self.name}.demo.load_demo")

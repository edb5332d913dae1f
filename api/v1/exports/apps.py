from django.apps import AppConfig


class ExportsConfig(AppConfig):
    name = "api.v1.exports"
    label = "exports"
    verbose_name = "Exports"

    def ready(self) -> None:
        from core.events import register_event, subscribe
        from core.registry import register_permissions, register_route, register_schedule

        from .permissions import GRANTS

        register_permissions(GRANTS)
        register_route("exports", f"{self.name}.views.ExportViewSet", basename="export")
        register_schedule(
            "erp: expired exports cleanup",
            "api.v1.exports.tasks.cleanup_expired_exports",
            "Delete exports (rows and files) past their expires_at.",
            crontab={"minute": "17", "hour": "*"},
            expires_seconds=3000,
        )
        register_event(
            "export.requested",
            "An export was requested. Payload: export_id, organization_id, user_id.",
        )
        subscribe("export.requested", task=f"{self.name}.tasks.run_export")

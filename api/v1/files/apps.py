from django.apps import AppConfig


class FilesConfig(AppConfig):
    name = "api.v1.files"
    label = "files"
    verbose_name = "Files"

    def ready(self) -> None:
        from core.events import register_event, subscribe
        from core.registry import (
            register_doctor_check,
            register_ops_panel,
            register_permissions,
            register_route,
            register_schedule,
        )

        from . import health, metrics  # noqa: F401  (readiness checks, Prometheus collector)
        from .doctor import storage_checks
        from .models import ScanStatus
        from .ops import files_panel
        from .permissions import GRANTS
        from .tasks import scan_file
        from .views import FileViewSet

        register_permissions(GRANTS)
        register_doctor_check("storage", storage_checks, section="storage")
        register_ops_panel("files", files_panel, title="Files", order=50)
        register_route("files", FileViewSet, basename="file")
        register_schedule(
            "erp: orphan files cleanup",
            "api.v1.files.tasks.cleanup_orphan_files",
            "Delete stored objects without metadata and metadata without objects (files app).",
            crontab={"minute": "15", "hour": "3"},
            expires_seconds=3 * 3600,
        )
        register_event(
            "file.stored",
            "An upload was stored. Payload: file_id, organization_id, scan_status, attached_to.",
        )
        subscribe(
            "file.stored",
            task=scan_file,
            when=lambda event: event["scan_status"] == ScanStatus.PENDING,
            kwargs=lambda event: {
                "file_id": event["file_id"],
                "organization_id": event["organization_id"],
            },
        )

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
        from .models import ScanStatus
        from .permissions import GRANTS

        register_permissions(GRANTS)
        register_doctor_check("storage", f"{self.name}.doctor.storage_checks", section="storage")
        register_ops_panel("files", f"{self.name}.ops.files_panel", title="Files", order=50)
        register_route("files", f"{self.name}.views.FileViewSet", basename="file")
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
            task=f"{self.name}.tasks.scan_file",
            when=lambda event: event["scan_status"] == ScanStatus.PENDING,
            kwargs=lambda event: {
                "file_id": event["file_id"],
                "organization_id": event["organization_id"],
            },
        )

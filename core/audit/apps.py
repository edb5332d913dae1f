from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AuditConfig(AppConfig):
    """The audit log: every organization-scoped model is recorded (triggers), read through
    ``GET /api/v1/audit-log/``. Registered only through core.registry."""

    name = "core.audit"
    label = "audit"
    verbose_name = "Audit log"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.registry import register_doctor_check, register_permissions, register_route

        from .context import connect_task_signals
        from .permissions import GRANTS
        from .triggers import install_triggers_after_migrate

        register_permissions(GRANTS)
        register_route(
            "audit-log", f"{self.name}.views.AuditRecordViewSet", basename="audit-record"
        )
        register_doctor_check("audit", f"{self.name}.doctor.check_audit_log", section="postgres")
        # A task's statements carry the request id of the request that queued it.
        connect_task_signals()
        # Every model's triggers, after every migrate: a module's models are covered as soon
        # as its tables exist (post_migrate is sent per app; hang it on this one).
        post_migrate.connect(
            install_triggers_after_migrate,
            sender=self,
            weak=False,
            dispatch_uid="audit.install-triggers",
        )

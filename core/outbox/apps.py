from django.apps import AppConfig
from django.conf import settings


class OutboxConfig(AppConfig):
    name = "core.outbox"
    label = "outbox"
    verbose_name = "Task outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.celery_app.retry import set_retry_store
        from core.celery_app.schedules import ensure_schedules_after_migrate
        from core.registry import register_schedule

        from . import health, metrics  # noqa: F401  (readiness check, backlog collector)
        from .retries import OutboxRetryStore

        # ErpTask parks transient failures and records dead letters in this app's tables.
        set_retry_store(OutboxRetryStore())

        register_schedule(
            "erp: outbox relay",
            "core.outbox.tasks.relay_outbox",
            "Publish outbox messages the on-commit relay could not send (broker was down).",
            every_seconds=lambda: settings.OUTBOX_RELAY_INTERVAL,
            expires_seconds=lambda: max(10, settings.OUTBOX_RELAY_INTERVAL * 4),
        )
        post_migrate.connect(ensure_schedules_after_migrate, dispatch_uid="erp-beat-schedules")

from django.apps import AppConfig


class OutboxConfig(AppConfig):
    name = "core.outbox"
    label = "outbox"
    verbose_name = "Task outbox"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from core.celery_app.schedules import ensure_schedules_after_migrate

        post_migrate.connect(ensure_schedules_after_migrate, dispatch_uid="erp-beat-schedules")

import importlib

from django.apps import AppConfig, apps
from django.conf import settings
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "ERP Core infrastructure"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the PostgreSQL system checks)
        from .db.invalidation import connect_all
        from .tenancy.permission_cache import invalidate_all_permissions

        # Components contribute readiness checks and Prometheus collectors by being imported.
        for module in [*settings.HEALTH_CHECK_MODULES, *settings.METRICS_COLLECTOR_MODULES]:
            importlib.import_module(module)
        # Every model whose queryset is an InvalidatingQuerySet: save/delete invalidate caches.
        connect_all(apps.get_models())
        # Migrations may change roles (grant_operation) through historical models, which send no
        # signals: drop every cached permission set after migrate.
        post_migrate.connect(
            lambda **kwargs: invalidate_all_permissions(),
            sender=self,  # once per migrate run (post_migrate is sent for every app)
            weak=False,
            dispatch_uid="core.permission-cache.post-migrate",
        )

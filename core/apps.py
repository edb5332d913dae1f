import importlib

from django.apps import AppConfig
from django.conf import settings


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "ERP Core infrastructure"

    def ready(self) -> None:
        from . import checks  # noqa: F401  (registers the PostgreSQL system checks)

        # Components contribute readiness checks and Prometheus collectors by being imported.
        for module in [*settings.HEALTH_CHECK_MODULES, *settings.METRICS_COLLECTOR_MODULES]:
            importlib.import_module(module)

import importlib

from django.apps import AppConfig, apps
from django.conf import settings
from django.db.models.signals import post_migrate


def ensure_builtin_roles(using=None, **kwargs) -> None:
    from django.db import DEFAULT_DB_ALIAS, connections

    from core.permissions.enums import DEFAULT_ROLE_PERMISSIONS

    connection = connections[using or DEFAULT_DB_ALIAS]
    if "organizations_role" not in connection.introspection.table_names():
        return
    Role = apps.get_model("organizations", "Role")
    for name, permissions in DEFAULT_ROLE_PERMISSIONS.items():
        Role.objects.using(connection.alias).get_or_create(
            name=name, defaults={"permissions": sorted(permissions)}
        )


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
        # A flush (transactional tests, `manage.py flush`) empties the roles table, which only a
        # data migration fills: put back the built-in roles that are missing, like Django does
        # for content types. Existing roles are never touched (operators may have edited them).
        # post_migrate is only sent for apps with models: hang both receivers on the app that
        # owns roles (core has no models module).
        organizations = apps.get_app_config("organizations")
        post_migrate.connect(
            ensure_builtin_roles,
            sender=organizations,
            weak=False,
            dispatch_uid="core.builtin-roles.post-migrate",
        )
        post_migrate.connect(
            lambda **kwargs: invalidate_all_permissions(),
            sender=organizations,  # once per migrate run (post_migrate is sent for every app)
            weak=False,
            dispatch_uid="core.permission-cache.post-migrate",
        )

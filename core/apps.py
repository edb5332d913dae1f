from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "ERP Core infrastructure"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from core.registry import register_schedule

        from . import checks  # noqa: F401  (registers the PostgreSQL system checks)
        from .api import front_cache
        from .celery_app import health as celery_health  # noqa: F401  (readiness checks)
        from .celery_app import metrics as celery_metrics  # noqa: F401  (collectors)
        from .db import health as db_health  # noqa: F401  (readiness: wraparound, autovacuum)
        from .db import metrics as db_metrics  # noqa: F401
        from .db.invalidation import connect_all
        from .doctor.checks import register_all as register_doctor_checks
        from .health import checks as health_checks  # noqa: F401
        from .metrics import collectors  # noqa: F401
        from .metrics import requests as request_metrics  # noqa: F401  (collector)
        from .ops import sampling as ops_sampling
        from .ops.panels import register_builtin_panels
        from .permissions.grants import ensure_builtin_roles
        from .redis import health as redis_health  # noqa: F401
        from .redis import metrics as redis_metrics  # noqa: F401
        from .tenancy.permission_cache import invalidate_all_permissions

        register_schedule(
            "erp: celery results cleanup",
            "celery.backend_cleanup",
            "Celery's own cleanup of expired task results.",
            crontab={"minute": "0", "hour": "4"},
            expires_seconds=3600,
        )
        register_schedule(
            "erp: nightly backup",
            "core.db.tasks.nightly_backup",
            "Back up the database and verify the archive (core.db.backups).",
            crontab={"minute": "30", "hour": "2"},
            expires_seconds=3 * 3600,
        )

        from .db import replicas
        from .doctor import replicas as replica_doctor

        replicas.register()  # read replicas: health, metrics (only when configured)
        replica_doctor.register()  # and their doctor findings
        register_doctor_checks()  # manage.py doctor (core.doctor; storage: the files app)
        register_builtin_panels()  # /ops/ sections (core.ops; files: the files app)
        ops_sampling.connect()  # request rate/latency for the /ops/ charts
        front_cache.connect_signals()  # response-cache front: lookup sent as the request starts
        from .requestid import clear_on_request_finished

        clear_on_request_finished()  # the request id ContextVar ends with its request
        from django.contrib import admin

        admin.site.index_template = "ops/admin_index.html"  # links the admin index to /ops/
        from .environment import mark_admin
        from .webhosts import connect as connect_web_heartbeat

        mark_admin()  # "ERP Core [STAGING]" when ERP_ENVIRONMENT is set
        connect_web_heartbeat()  # web hosts record themselves (multi-host storage warning)

        # Every model whose queryset is an InvalidatingQuerySet: save/delete invalidate caches.
        connect_all(apps.get_models())
        # After migrate (and a flush: transactional tests, `manage.py flush`) the built-in roles
        # exist and hold every newly registered permission (core.permissions.grants). Migrations
        # may also change roles through historical models, which send no signals: drop every
        # cached permission set afterwards. post_migrate is sent once per app: hang both
        # receivers on core (it has models: core.PermissionGrant).
        post_migrate.connect(
            ensure_builtin_roles,
            sender=self,
            weak=False,
            dispatch_uid="core.builtin-roles.post-migrate",
        )
        post_migrate.connect(
            lambda **kwargs: invalidate_all_permissions(),
            sender=self,
            weak=False,
            dispatch_uid="core.permission-cache.post-migrate",
        )

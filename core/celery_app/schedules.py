"""The periodic tasks the modules register, stored in django-celery-beat's tables.

Each module declares its own with ``core.registry.register_schedule`` in its ``AppConfig.ready()``.

``ensure_schedules()`` creates or updates them by name (idempotent); it runs after every
``migrate`` (post_migrate) and from ``manage.py setup_schedules``. Operators may disable a
schedule or change its time in the Django admin ("Periodic tasks"): a later run keeps
``enabled`` as the operator left it and only (re)sets task, schedule and options of the entries
it owns (their names start with ``erp:``).
"""

from __future__ import annotations

import json
from dataclasses import replace

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.migrations.executor import MigrationExecutor

from core.registry import Schedule, registry


def _resolve(value):
    return value() if callable(value) else value


def schedules() -> list[Schedule]:
    """Every registered schedule (``core.registry.register_schedule``), timings resolved."""
    return [
        replace(
            item,
            every_seconds=_resolve(item.every_seconds),
            expires_seconds=_resolve(item.expires_seconds),
        )
        for item in registry["schedules"].values()
    ]


def ensure_schedules() -> list[tuple[str, bool]]:
    """Create/update every schedule; return [(name, created)]."""
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    results = []
    for item in schedules():
        defaults = {
            "task": item.task,
            "description": item.description,
            "kwargs": json.dumps({}),
            "expire_seconds": item.expires_seconds,
            "interval": None,
            "crontab": None,
        }
        if item.every_seconds is not None:
            defaults["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=item.every_seconds, period=IntervalSchedule.SECONDS
            )
        else:
            cron = {
                "minute": "*",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
                **item.crontab,
            }
            defaults["crontab"], _ = CrontabSchedule.objects.get_or_create(
                **cron, timezone=settings.TIME_ZONE
            )
        task, created = PeriodicTask.objects.get_or_create(name=item.name, defaults=defaults)
        if not created:
            changed = [k for k, v in defaults.items() if getattr(task, k) != v]
            if changed:
                for key in changed:
                    setattr(task, key, defaults[key])
                task.save()
        results.append((item.name, created))
    return results


def ensure_schedules_after_migrate(sender, using=DEFAULT_DB_ALIAS, plan=None, **kwargs) -> None:
    """post_migrate receiver: once per migrate (sent for our app), if beat's tables exist."""
    if sender.label != "outbox":
        return
    # safe_migrate applies one migration at a time and post_migrate follows each step: only
    # touch beat's tables once its schema is complete.
    executor = MigrationExecutor(connections[using])
    if executor.migration_plan(executor.loader.graph.leaf_nodes("django_celery_beat")):
        return
    ensure_schedules()

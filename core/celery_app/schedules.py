"""The periodic tasks the modules register, stored in django-celery-beat's tables.

Each module declares its own with ``core.registry.register_schedule`` in its ``AppConfig.ready()``.

``ensure_schedules()`` creates the missing ones by name (idempotent); it runs after every
``migrate`` (post_migrate) and from ``manage.py setup_schedules``. An entry that exists is never
touched: operators may disable a schedule or change its timing, task options or expiry in the
Django admin ("Periodic tasks") and the edit survives every later ``migrate``. Entries that
differ from the registered default are reported as such; ``ensure_schedules(reset=True)``
(``manage.py setup_schedules --reset``) puts the defaults back on purpose, ``enabled`` included.
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


def ensure_schedules(*, reset: bool = False) -> list[tuple[str, str]]:
    """Create the missing schedules; with ``reset``, restore existing ones to their defaults.

    Returns ``[(name, state)]``, state one of ``created``, ``up to date``, ``edited`` (differs
    from the default and was kept) or ``reset`` (was edited and has been restored).
    """
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule, PeriodicTask

    results = []
    for item in schedules():
        defaults = {
            "task": item.task,
            "description": item.description,
            "kwargs": json.dumps({}),
            "expire_seconds": item.expires_seconds,
            "enabled": True,
        }
        if item.every_seconds is not None:
            schedule = {"every": item.every_seconds, "period": IntervalSchedule.SECONDS}
            model, field, other = IntervalSchedule, "interval", "crontab"
        else:
            schedule = {
                "minute": "*",
                "hour": "*",
                "day_of_week": "*",
                "day_of_month": "*",
                "month_of_year": "*",
                **item.crontab,
                "timezone": settings.TIME_ZONE,
            }
            model, field, other = CrontabSchedule, "crontab", "interval"
        task = PeriodicTask.objects.filter(name=item.name).select_related(field).first()
        if task is None:
            defaults[field], _ = model.objects.get_or_create(**schedule)
            PeriodicTask.objects.create(name=item.name, **defaults)
            results.append((item.name, "created"))
            continue
        current = getattr(task, field)
        edited = (
            any(getattr(task, key) != value for key, value in defaults.items())
            or getattr(task, f"{other}_id") is not None
            or current is None
            or any(str(getattr(current, key)) != str(value) for key, value in schedule.items())
        )
        if edited and reset:
            defaults[field], _ = model.objects.get_or_create(**schedule)
            defaults[other] = None
            for key, value in defaults.items():
                setattr(task, key, value)
            task.save()
        results.append((item.name, ("reset" if reset else "edited") if edited else "up to date"))
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

"""Readiness checks for the task system (all non-critical: they report ``degraded``).

The API keeps answering without a broker (orders still commit: their tasks wait in the
outbox), so none of these turns readiness into 503. Each check is a few Redis commands or one
SQL aggregate; none opens a Celery connection or broadcasts a ping.
"""

from django.conf import settings

from core.health.registry import register

from . import monitor


def _broker_status():
    status = monitor.read_status()
    if not status.broker_ok:
        raise ConnectionError(f"broker unreachable: {status.broker_error}")
    return status


@register("celery_broker")
def celery_broker() -> dict:
    status = _broker_status()
    details = {
        "queues": {
            name: {"ready": depth.ready, "unacked": depth.unacked}
            for name, depth in status.queues.items()
        },
        "appendonly": status.broker_appendonly,
        "maxmemory_policy": status.broker_maxmemory_policy,
    }
    if warnings := status.broker_warnings:
        # A warning, not "degraded": nothing is lost until Redis restarts or fills up
        # (docs/celery.md, broker safety).
        details["safety"] = "warn"
        details["warnings"] = warnings
    return details


@register("celery_workers")
def celery_workers() -> dict:
    status = _broker_status()
    if not status.workers:
        raise RuntimeError(
            f"no worker heartbeat in the last {settings.CELERY_WORKER_HEARTBEAT_MAX_AGE}s: "
            "start one (celery -A config worker -l INFO)"
        )
    return {"workers": len(status.workers)}


@register("celery_beat")
def celery_beat() -> dict:
    status = _broker_status()
    limit = settings.CELERY_BEAT_HEARTBEAT_MAX_AGE
    if status.beat_age is None or status.beat_age > limit:
        seen = "never" if status.beat_age is None else f"{status.beat_age:.0f}s ago"
        raise RuntimeError(f"beat last seen {seen} (limit {limit}s): is the beat process running?")
    from .beat import beat_lock_status

    lock = beat_lock_status()
    return {"heartbeat_age_s": round(status.beat_age, 1), **lock.as_dict()}

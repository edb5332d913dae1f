"""Tasks used only by the integration tests (the worker loads them with ``-I``)."""

import os
import time

import redis

from core.celery_app.base import erp_task
from core.outbox.effects import once


@erp_task(name="tests.slow_effect")
def slow_effect(*, key: str, redis_url: str, sleep: float = 30.0) -> None:
    """Count each delivery; the first one lingers (a test kills the worker there); the effect
    (a counter bumped inside ``once``) must end up happening exactly once."""
    client = redis.Redis.from_url(redis_url)
    if client.incr(f"{key}:deliveries") == 1:
        time.sleep(sleep)
    with once(key) as first:
        if first:
            client.incr(f"{key}:effects")


@erp_task(name="tests.noop")
def noop() -> None:
    return None


@erp_task(name="tests.record_worker_pid")
def record_worker_pid(*, key: str, redis_url: str) -> None:
    """Store the pid of the worker main process running this task (the pool child's parent)."""
    redis.Redis.from_url(redis_url).set(key, os.getppid())


@erp_task(name="tests.fail")
def fail(*, marker: str) -> None:
    """Always fails (not a transient error: no retry); Sentry tests look for ``marker``."""
    raise ValueError(f"task failed on purpose: {marker}")


@erp_task(name="tests.beat_tick")
def beat_tick(*, key: str, redis_url: str) -> None:
    """One periodic run: append the time it ran (the beat-lock test counts them)."""
    redis.Redis.from_url(redis_url).rpush(key, time.time())

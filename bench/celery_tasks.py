"""Trivial tasks for bench/celery.py: each bumps a Redis counter, nothing else."""

from functools import cache

import redis
from celery import shared_task

from core.celery_app.base import ErpTask, erp_task


@cache
def _client(url: str) -> redis.Redis:
    return redis.Redis.from_url(url)


@shared_task(name="bench.bare_incr")
def bare_incr(key: str, redis_url: str) -> None:
    """The baseline: a plain Celery task."""
    _client(redis_url).incr(key)


class ScopedBenchTask(ErpTask):
    organization_scoped = True


@erp_task(base=ScopedBenchTask, name="bench.erp_incr")
def erp_incr(*, key: str, redis_url: str, organization_id: int) -> None:
    """The same work through ERP Core's base task (argument checks, organization re-check)."""
    _client(redis_url).incr(key)

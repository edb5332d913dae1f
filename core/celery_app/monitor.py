"""What the broker, the workers, beat and the outbox are doing, read from the backends.

Every number is computed from Redis (the broker's database) or PostgreSQL at the moment it is
asked for, so ``/metrics``, ``/health/ready/`` and ``manage.py celery_status`` agree across the
several web processes. Nothing here opens a Celery/kombu connection or sends a broadcast: each
read is a handful of Redis commands with a short socket timeout.

Keys (all under ``global_keyprefix`` + ``CELERY_MONITOR_KEY_PREFIX``, default ``erp:celery:``):

- ``tasks:succeeded`` / ``tasks:failed`` / ``tasks:retried``: hashes task name -> count, bumped
  by Celery signals in the worker (``core.celery_app.signals``).
- ``workers``: sorted set hostname -> last heartbeat (unix time), written every worker heartbeat.
- ``beat``: last beat tick (unix time), written by ``core.celery_app.beat.DatabaseScheduler``.
- ``beats``: sorted set ``host:pid`` -> last tick of each beat process, holder and standbys (only
  the holder of the beat lease dispatches: ``core.celery_app.beat``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:  # redis-py is imported on first use: starting a command needs no client
    import redis

# Celery's Redis transport keeps priority sub-queues next to each queue's list.
PRIORITY_SEPARATOR = "\x06\x16"
DEFAULT_PRIORITY_STEPS = (0, 3, 6, 9)
TASK_STATES = ("succeeded", "failed", "retried")
# Parsing every unacked message to attribute it to a queue is bounded; above this, totals only.
UNACKED_PARSE_LIMIT = 2000


def _transport_options() -> dict:
    return getattr(settings, "CELERY_BROKER_TRANSPORT_OPTIONS", {}) or {}


def global_keyprefix() -> str:
    return _transport_options().get("global_keyprefix", "")


def monitor_prefix() -> str:
    return global_keyprefix() + settings.CELERY_MONITOR_KEY_PREFIX


_TIMEOUTS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "health_check_interval": 30}


@cache
def _client_for(url: str) -> redis.Redis:
    import redis

    if url.startswith("sentinel://"):
        # The master the sentinels name now (kombu's transport options: master_name,
        # sentinel_kwargs), re-discovered on every new connection (core.redis.sentinel).
        from core.redis.sentinel import client_for_url

        return client_for_url(url, options=_transport_options(), **_TIMEOUTS)
    return redis.Redis.from_url(url, **_TIMEOUTS)


def broker_redis() -> redis.Redis:
    """A redis-py client on the broker's database (cached per process; fork-safe); on the
    Sentinel-discovered master when the broker URL is ``sentinel://``."""
    return _client_for(settings.CELERY_BROKER_URL)


def monitored_queues() -> list[str]:
    queues = list(getattr(settings, "CELERY_MONITORED_QUEUES", []) or [])
    default = settings.CELERY_TASK_DEFAULT_QUEUE
    return queues if default in queues else [default, *queues]


# --- writers (called from signals in worker/beat processes) ---


def _expire(pipe, key: str) -> None:
    ttl = getattr(settings, "CELERY_MONITOR_KEY_TTL", None)
    if ttl:
        pipe.expire(key, ttl)


def count_task(task_name: str, state: str) -> None:
    key = f"{monitor_prefix()}tasks:{state}"
    pipe = broker_redis().pipeline(transaction=False)
    pipe.hincrby(key, task_name, 1)
    _expire(pipe, key)
    pipe.execute()


def record_worker_heartbeat(hostname: str, *, alive: bool = True) -> None:
    key = f"{monitor_prefix()}workers"
    pipe = broker_redis().pipeline(transaction=False)
    if alive:
        now = time.time()
        pipe.zadd(key, {hostname: now})
        pipe.zremrangebyscore(key, 0, now - 3600)  # workers that died without a goodbye
    else:
        pipe.zrem(key, hostname)
    _expire(pipe, key)
    pipe.execute()


def record_beat_heartbeat(*, dispatching: bool = True) -> None:
    """Every beat process: ``beats[host:pid]``; only the one dispatching (the lease holder,
    ``core.celery_app.beat``) also the ``beat`` heartbeat."""
    now = time.time()
    ttl = getattr(settings, "CELERY_MONITOR_KEY_TTL", None)
    beats = f"{monitor_prefix()}beats"
    pipe = broker_redis().pipeline(transaction=False)
    if dispatching:
        pipe.set(f"{monitor_prefix()}beat", now, ex=ttl)
    pipe.zadd(beats, {f"{socket.gethostname()}:{os.getpid()}": now})
    pipe.zremrangebyscore(beats, 0, now - 3600)  # beats that stopped
    _expire(pipe, beats)
    pipe.execute()


# --- readers ---


@dataclass
class QueueDepth:
    ready: int = 0
    unacked: int = 0


@dataclass
class CeleryStatus:
    broker_ok: bool = False
    broker_error: str = ""
    queues: dict[str, QueueDepth] = field(default_factory=dict)
    unacked_total: int = 0
    workers: dict[str, float] = field(default_factory=dict)  # hostname -> seconds since heartbeat
    beat_age: float | None = None
    beats: dict[str, float] = field(default_factory=dict)  # host:pid -> seconds since its tick
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)  # task -> state -> count
    broker_appendonly: bool | None = None  # INFO persistence aof_enabled
    broker_maxmemory_policy: str = ""  # INFO memory maxmemory_policy

    @property
    def broker_warnings(self) -> list[str]:
        """Broker settings that can lose tasks (docs/caching.md, separate broker instance)."""
        warnings = []
        if self.broker_appendonly is False:
            warnings.append(
                "broker Redis has appendonly no: a Redis restart loses every queued task "
                "(set appendonly yes)"
            )
        if self.broker_maxmemory_policy and self.broker_maxmemory_policy != "noeviction":
            warnings.append(
                f"broker Redis has maxmemory-policy {self.broker_maxmemory_policy}: an evicted "
                "key is a lost task (set maxmemory-policy noeviction)"
            )
        return warnings


def _priority_keys(queue: str) -> list[str]:
    steps = _transport_options().get("priority_steps", DEFAULT_PRIORITY_STEPS)
    sep = _transport_options().get("sep", PRIORITY_SEPARATOR)
    return [queue if step == 0 else f"{queue}{sep}{step}" for step in steps]


def queue_depths(client: redis.Redis) -> tuple[dict[str, QueueDepth], int]:
    """Ready messages per queue (LLEN of the list and its priority lists) and unacked ones.

    Unacked messages (delivered to a worker, not yet acknowledged: running or reserved, or held
    by a killed worker until ``visibility_timeout`` restores them) live in one hash for all
    queues; each entry names its routing key, which is the queue for direct routing.
    """
    prefix = global_keyprefix()
    queues = monitored_queues()
    pipe = client.pipeline(transaction=False)
    for queue in queues:
        for key in _priority_keys(queue):
            pipe.llen(prefix + key)
    pipe.hlen(prefix + "unacked")
    results = pipe.execute()
    unacked_total = results.pop()
    steps = len(_priority_keys(queues[0])) if queues else 0
    depths = {
        queue: QueueDepth(ready=sum(results[i * steps : (i + 1) * steps]))
        for i, queue in enumerate(queues)
    }
    if unacked_total and unacked_total <= UNACKED_PARSE_LIMIT:
        for raw in client.hvals(prefix + "unacked"):
            try:
                _message, _exchange, routing_key = json.loads(raw)
            except (ValueError, TypeError):
                continue
            depths.setdefault(routing_key, QueueDepth()).unacked += 1
    return depths, unacked_total


def read_status() -> CeleryStatus:
    """Everything the broker knows at once; a broker failure is reported, never raised.

    (The outbox backlog is the outbox's own: ``core.outbox.services.outbox_backlog``.)"""
    from redis import RedisError

    status = CeleryStatus()
    client = broker_redis()
    try:
        client.ping()
        status.broker_ok = True
        status.queues, status.unacked_total = queue_depths(client)
        prefix = monitor_prefix()
        now = time.time()
        pipe = client.pipeline(transaction=False)
        pipe.zrangebyscore(
            f"{prefix}workers",
            now - settings.CELERY_WORKER_HEARTBEAT_MAX_AGE,
            "+inf",
            withscores=True,
        )
        pipe.get(f"{prefix}beat")
        pipe.zrangebyscore(
            f"{prefix}beats", now - settings.CELERY_BEAT_HEARTBEAT_MAX_AGE, "+inf", withscores=True
        )
        pipe.info("persistence")
        pipe.info("memory")
        for state in TASK_STATES:
            pipe.hgetall(f"{prefix}tasks:{state}")
        workers, beat, beats, persistence, memory, *counters = pipe.execute()
        status.broker_appendonly = str(persistence.get("aof_enabled", "0")) == "1"
        status.broker_maxmemory_policy = str(memory.get("maxmemory_policy", ""))
        status.beats = {name.decode(): max(0.0, now - seen) for name, seen in beats}
        status.workers = {name.decode(): now - seen for name, seen in workers}
        status.beat_age = None if beat is None else max(0.0, now - float(beat))
        for state, values in zip(TASK_STATES, counters, strict=True):
            for name, count in values.items():
                status.tasks.setdefault(name.decode(), dict.fromkeys(TASK_STATES, 0))[state] = int(
                    count
                )
    except RedisError as exc:
        status.broker_ok = False
        status.broker_error = f"{type(exc).__name__}: {exc}"
    return status

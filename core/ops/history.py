"""The last hour of the operations page's charts, kept small in the broker's Redis.

- Requests: every process counts its requests and their duration per ``SLOT_SECONDS`` slot in
  memory (``core.ops.sampling``, on the request signals); a daemon thread adds them to Redis every
  ``OPS_REQUEST_FLUSH_SECONDS`` (``HINCRBY``/``HINCRBYFLOAT`` on one hash per slot, expiring
  after an hour), so a request never waits for Redis and all processes add up.
- Samples: each read of ``/ops/data/`` (at most one per ``SLOT_SECONDS`` for all readers) adds
  the queue depths and the cumulative task counters to a sorted set trimmed to the last hour;
  successes/failures over the last hour are the difference to the oldest sample.

Keys live under the Celery monitor prefix (``erp:celery:ops:...``) of the broker's database: the
same Redis that ``celery_status`` reads, which stays up when a cache server is down.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time

from django.conf import settings

from core.celery_app import monitor

logger = logging.getLogger("core.ops")

SLOT_SECONDS = 10
WINDOW_SECONDS = 3600


def _key(name: str) -> str:
    return f"{monitor.monitor_prefix()}ops:{name}"


def _slot(ts: float) -> int:
    return int(ts // SLOT_SECONDS) * SLOT_SECONDS


# --- requests (written by the middleware's flusher thread) --------------------------------------


# HSET max only when larger: one round trip for every process's maximum.
_MAX_SCRIPT = (
    "if tonumber(redis.call('hget', KEYS[1], 'max') or 0) < tonumber(ARGV[1]) "
    "then redis.call('hset', KEYS[1], 'max', ARGV[1]) end return 1"
)


class RequestCounter:
    """Per-process accumulator: {slot: [count, total_ms, max_ms]}, flushed by one thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pending: dict[int, list[float]] = {}
        self._pid = None

    def add(self, started: float, duration_ms: float) -> None:
        slot = _slot(started)
        with self._lock:
            entry = self._pending.setdefault(slot, [0, 0.0, 0.0])
            entry[0] += 1
            entry[1] += duration_ms
            entry[2] = max(entry[2], duration_ms)
        if self._pid != os.getpid():  # first request of this (possibly forked) process
            self._start_flusher()

    def _start_flusher(self) -> None:
        with self._lock:
            if self._pid == os.getpid():
                return
            self._pid = os.getpid()
        thread = threading.Thread(target=self._run, name="ops-request-flusher", daemon=True)
        thread.start()

    def _run(self) -> None:
        while True:
            time.sleep(getattr(settings, "OPS_REQUEST_FLUSH_SECONDS", 5.0))
            self.flush()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
        if not pending:
            return
        from redis import RedisError

        try:
            pipe = monitor.broker_redis().pipeline(transaction=False)
            for slot, (count, total_ms, max_ms) in pending.items():
                key = _key(f"req:{slot}")
                pipe.hincrby(key, "n", int(count))
                pipe.hincrbyfloat(key, "ms", round(total_ms, 3))
                pipe.eval(_MAX_SCRIPT, 1, key, round(max_ms, 3))
                pipe.expire(key, WINDOW_SECONDS + 120)
            pipe.execute()
        except RedisError as exc:  # the counts of this interval are lost, nothing else
            logger.debug("ops request history not written: %s", exc)


counter = RequestCounter()


def request_series(now: float | None = None) -> dict:
    """Per slot of the last hour: unix time, requests/s, mean and max latency (ms)."""
    now = now or time.time()
    slots = list(range(_slot(now) - WINDOW_SECONDS + SLOT_SECONDS, _slot(now) + 1, SLOT_SECONDS))
    pipe = monitor.broker_redis().pipeline(transaction=False)
    for slot in slots:
        pipe.hmget(_key(f"req:{slot}"), "n", "ms", "max")
    rows = pipe.execute()
    series = {"t": [], "rate": [], "latency_ms": [], "max_ms": []}
    for slot, (n, ms, max_ms) in zip(slots, rows, strict=True):
        count = int(n or 0)
        series["t"].append(slot)
        series["rate"].append(round(count / SLOT_SECONDS, 3))
        series["latency_ms"].append(round(float(ms) / count, 2) if count else None)
        series["max_ms"].append(round(float(max_ms), 2) if count and max_ms else None)
    return series


# --- samples (written by /ops/data/ reads) -------------------------------------------------------


def record_sample(queues: dict[str, int], tasks: dict[str, int], now: float | None = None) -> None:
    """One sample per slot for all readers (SET NX on the slot)."""
    now = now or time.time()
    client = monitor.broker_redis()
    if not client.set(_key(f"sampled:{_slot(now)}"), 1, nx=True, ex=SLOT_SECONDS * 2):
        return
    member = json.dumps({"t": round(now, 1), "q": queues, "tasks": tasks}, sort_keys=True)
    pipe = client.pipeline(transaction=False)
    pipe.zadd(_key("samples"), {member: now})
    pipe.zremrangebyscore(_key("samples"), 0, now - WINDOW_SECONDS)
    pipe.expire(_key("samples"), WINDOW_SECONDS + 120)
    pipe.execute()


def samples(now: float | None = None) -> list[dict]:
    now = now or time.time()
    raw = monitor.broker_redis().zrangebyscore(_key("samples"), now - WINDOW_SECONDS, "+inf")
    return [json.loads(item) for item in raw]


def queue_series(rows: list[dict]) -> dict:
    names = sorted({name for row in rows for name in row["q"]})
    return {
        "t": [row["t"] for row in rows],
        "series": {name: [row["q"].get(name) for row in rows] for name in names},
    }


def task_deltas(rows: list[dict], current: dict[str, int]) -> dict[str, int]:
    """Task outcomes over the window: current totals minus the oldest sample's (a counter reset,
    e.g. Redis flushed, counts from zero)."""
    if not rows:
        return dict.fromkeys(current, 0)
    oldest = rows[0]["tasks"]
    return {
        state: value - oldest.get(state, 0) if value >= oldest.get(state, 0) else value
        for state, value in current.items()
    }

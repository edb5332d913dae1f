"""Redeliver the messages of a dead worker within a minute, not after the visibility timeout.

With the Redis transport a message a worker has received but not acknowledged sits in kombu's
unacked hash; only ``restore_visible`` brings it back, once ``CELERY_VISIBILITY_TIMEOUT``
(2 h: it must exceed the longest task) has passed. So a SIGKILLed worker main process (or an
OOM-killed one, or a lost machine) left its task stuck for 2 hours.

Here each worker process records which messages it holds and that it is alive:

- ``task_received`` (worker main process): ``owners[delivery_tag] = "<hostname>:<pid>"``.
- every worker heartbeat (2 s): ``instances["<hostname>:<pid>"] = now``.
- every ``SCAN_EVERY`` seconds, each worker that has itself been beating for at least
  ``CELERY_ORPHAN_AFTER`` seconds (so it is not just back from a broker outage during which
  nobody could beat) looks at the owners: a tag that is no longer unacked was acknowledged
  (entry dropped); a tag whose owner has not beaten for ``CELERY_ORPHAN_AFTER`` seconds is put
  back on its queue with kombu's own ``QoS.restore_by_tag`` (a Redis transaction on the unacked
  hash: two workers restoring the same tag restore it once).

A restarted worker has a new pid, hence a new identity, so supervisord's restart of a killed
worker picks up the dead one's message within ``CELERY_ORPHAN_AFTER + SCAN_EVERY`` seconds.
Messages without an owner entry (received in the instant before the signal ran) still come
back through the visibility timeout. Delivery stays at least once: effects are idempotent.
"""

from __future__ import annotations

import logging
import os
import time

from celery import current_app
from django.conf import settings

from . import monitor

logger = logging.getLogger("core.celery_app")
SCAN_EVERY = 10.0


def _keys() -> tuple[str, str, str]:
    options = settings.CELERY_BROKER_TRANSPORT_OPTIONS or {}
    prefix = monitor.monitor_prefix()
    unacked = options.get("global_keyprefix", "") + options.get("unacked_key", "unacked")
    return f"{prefix}unacked_owners", f"{prefix}instances", unacked


def instance_id(hostname: str) -> str:
    return f"{hostname}:{os.getpid()}"


def record_owner(delivery_tag: str, hostname: str) -> None:
    owners, _, _ = _keys()
    monitor.broker_redis().hset(owners, delivery_tag, instance_id(hostname))


class _State:
    beating_since: float | None = None
    last_scan = 0.0


_state = _State()


def on_heartbeat(hostname: str) -> None:
    """Record this instance alive; from time to time, restore dead instances' messages."""
    _, instances, _ = _keys()
    now = time.time()
    try:
        client = monitor.broker_redis()
        pipe = client.pipeline(transaction=False)
        pipe.zadd(instances, {instance_id(hostname): now})
        pipe.zremrangebyscore(instances, 0, now - 86400)
        pipe.execute()
    except Exception:
        _state.beating_since = None  # broker unreachable: others can't beat either
        raise
    if _state.beating_since is None:
        _state.beating_since = now
    orphan_after = settings.CELERY_ORPHAN_AFTER
    if now - _state.beating_since < orphan_after or now - _state.last_scan < SCAN_EVERY:
        return
    _state.last_scan = now
    restore_orphans(now - orphan_after)


def restore_orphans(dead_before: float) -> list[str]:
    """Put back the unacked messages of instances silent since ``dead_before``; their tags."""
    owners, instances, unacked = _keys()
    client = monitor.broker_redis()
    held = {tag.decode(): owner.decode() for tag, owner in client.hgetall(owners).items()}
    if not held:
        return []
    tags = list(held)
    still_unacked = client.pipeline(transaction=False)
    for tag in tags:
        still_unacked.hexists(unacked, tag)
    acked = [tag for tag, present in zip(tags, still_unacked.execute(), strict=True) if not present]
    if acked:
        client.hdel(owners, *acked)
    live = {
        member.decode()
        for member in client.zrangebyscore(instances, dead_before, "+inf")
    }  # fmt: skip
    orphans = [tag for tag in tags if tag not in acked and held[tag] not in live]
    if not orphans:
        return []
    # The running app (this module is imported by the app's signal handlers: no import cycle).
    with current_app.connection_for_write() as conn:
        qos = conn.default_channel.qos
        for tag in orphans:
            qos.restore_by_tag(tag, leftmost=True)
            logger.warning(
                "task.redelivered delivery_tag=%s dead_worker=%s (no heartbeat for %ss)",
                tag,
                held[tag],
                settings.CELERY_ORPHAN_AFTER,
            )
    client.hdel(owners, *orphans)
    return orphans

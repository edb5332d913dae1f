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
    """``hostname:pid``, then ``hostname:pid.N`` after the N-th lost broker connection."""
    epoch = f".{_state.epoch}" if _state.epoch else ""
    return f"{hostname}:{os.getpid()}{epoch}"


def record_owner(delivery_tag: str, hostname: str) -> None:
    owners, _, _ = _keys()
    monitor.broker_redis().hset(owners, delivery_tag, instance_id(hostname))


class _State:
    beating_since: float | None = None
    last_scan = 0.0
    epoch = 0  # lost broker connections of this process (see on_connection_lost)

    def __init__(self):
        self.previous: list[str] = []  # identities used before a connection loss, not restored
        self.lost: dict = {}  # delivery tag -> message held when a connection was lost


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


def on_connection_lost(hostname: str, held: dict) -> None:
    """The consumer lost its broker connection holding ``held`` (delivery tag -> kombu message:
    reserved, running, or waiting for an ETA, and not acknowledged; ``core.celery_app.consumer``).

    Celery drops those from memory and cancels its running late-ack tasks, expecting the broker
    to redeliver them; with Redis nothing does until the visibility timeout (2 h). They are put
    back when the consumer is connected again (:func:`on_consumer_restart`). From here on this
    process also records its messages under a new identity: should that restore fail, the old
    identity no longer beats and the orphan scan restores what it had recorded.
    """
    _state.lost.update(held)
    _state.previous.append(instance_id(hostname))
    _state.epoch += 1


# Message properties worth keeping when a message is published again from memory.
_REPUBLISH_PROPERTIES = ("correlation_id", "reply_to", "priority", "delivery_mode", "expiration")


def on_consumer_restart(hostname: str) -> list[str]:
    """Connected again (after a broker restart or a Sentinel failover): put the messages held
    on the lost connection back on their queue at once; returns their tags.

    Still in the unacked hash: restored from there (kombu's ``restore_by_tag``). Already back on
    its queue (kombu's own restore on close reached a quickly restarted Redis): left alone. Not
    there at all (a promoted replica that had not received that write yet, or a Redis restarted
    without persistence): published again from the copy in memory. Delivery stays at least once; the
    effects are idempotent (``once``).
    """
    lost, previous = dict(_state.lost), list(_state.previous)
    if not lost and not previous:
        return []
    owners, _, unacked = _keys()
    client = monitor.broker_redis()
    held = {tag.decode(): owner.decode() for tag, owner in client.hgetall(owners).items()}
    mine = sorted(set(lost) | {tag for tag, owner in held.items() if owner in previous})
    still = client.pipeline(transaction=False)
    for tag in mine:
        still.hexists(unacked, tag)
    present = dict(zip(mine, still.execute(), strict=True))
    done = []
    with current_app.connection_for_write() as conn:
        qos = conn.default_channel.qos
        producer = conn.Producer()
        for tag in mine:
            if present[tag]:
                qos.restore_by_tag(tag, leftmost=True)
                how = "restored"
            elif tag in lost and not _queued(client, lost[tag], tag):
                _republish(producer, lost[tag])
                how = "published again"
            else:
                continue  # acknowledged meanwhile, or already back on its queue
            done.append(tag)
            logger.warning(
                "task.redelivered delivery_tag=%s holder=%s (%s: broker connection lost)",
                tag,
                held.get(tag, f"{hostname}:{os.getpid()}"),
                how,
            )
    if mine:
        client.hdel(owners, *mine)
    for tag in lost:
        _state.lost.pop(tag, None)
    _state.previous = [p for p in _state.previous if p not in previous]
    return done


# Queue entries looked at to tell "kombu put it back itself" from "the broker lost it".
QUEUE_SCAN_LIMIT = 10000


def _queued(client, message, tag: str) -> bool:
    """Is the message back on its queue already? kombu restores unacked messages when the channel
    closes, which succeeds when Redis is back by then (a quick restart); only a message the
    broker no longer has anywhere is published again."""
    routing_key = (message.delivery_info or {}).get("routing_key") or ""
    prefix = monitor.global_keyprefix()
    names = [routing_key] + [
        f"{routing_key}{monitor.PRIORITY_SEPARATOR}{step}"
        for step in monitor.DEFAULT_PRIORITY_STEPS
        if step
    ]
    needle = tag.encode()
    for name in names:
        for entry in client.lrange(prefix + name, 0, QUEUE_SCAN_LIMIT - 1):
            if needle in entry:
                return True
    return False


def _republish(producer, message) -> None:
    info = message.delivery_info or {}
    properties = message.properties or {}
    producer.publish(
        message.body,
        exchange=info.get("exchange", ""),
        routing_key=info.get("routing_key", ""),
        headers=message.headers,
        content_type=message.content_type,
        content_encoding=message.content_encoding,
        retry=True,
        **{name: properties[name] for name in _REPUBLISH_PROPERTIES if name in properties},
    )

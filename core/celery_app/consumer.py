"""The worker's consumer: remembers what it held when the broker connection was lost.

Selected by ``CELERY_WORKER_CONSUMER``. On a connection loss Celery's ``Consumer.on_close``
forgets the reserved requests (their delivery tags "can't be acked anyway") and the running
late-ack tasks are cancelled, in the expectation that the broker redelivers them. kombu's Redis
transport only does so after the visibility timeout (2 h), and its ``restore_unacked_once`` on
close needs the broker that has just gone. So the tags are handed to
``core.celery_app.redelivery`` first, which puts the still-unacknowledged ones back once the
consumer is connected again (a Redis restart with persistence, or a Sentinel failover), and
publishes again, from memory, those the broker no longer has at all (the replica promoted by
Sentinel had not received the write that put them in the unacked hash yet).
"""

from __future__ import annotations

import logging

from celery import bootsteps
from celery.worker import state
from celery.worker.consumer import Consumer as CeleryConsumer

from . import redelivery

logger = logging.getLogger("core.celery_app")


class Consumer(CeleryConsumer):
    def on_close(self):
        requests = (*state.reserved_requests, *state.active_requests, *state.scheduled_requests)
        held = {}
        for request in requests:
            message = getattr(request, "message", None)
            tag = getattr(message, "delivery_tag", None)
            if tag and not getattr(request, "acknowledged", False):
                held[tag] = message
        try:
            redelivery.on_connection_lost(self.hostname, held)
        finally:
            super().on_close()


class RedeliverAfterReconnect(bootsteps.StartStopStep):
    """A consumer step, started again each time the consumer has reconnected to the broker:
    the messages held on the lost connection go back to their queue at once
    (``redelivery.on_consumer_restart``; recorded by ``core.celery_app.consumer``)."""

    requires = ("celery.worker.consumer.tasks:Tasks",)

    def start(self, c):
        if c.restart_count > 0:
            try:
                redelivery.on_consumer_restart(c.hostname)
            except Exception as exc:  # noqa: BLE001 - the orphan scan restores them later
                logger.warning(
                    "task.redelivery_failed after reconnect: %s (the orphan scan retries in "
                    "CELERY_ORPHAN_AFTER seconds)",
                    exc,
                )

"""A task the broker lost after the outbox marked it sent is sent again, and runs once (issue 9).

The window (kombu 5.7.0's Redis transport): the worker main process keeps a ``BRPOP`` pending
on the broker. Redis pops the message from the queue as soon as it arrives and writes it to that
connection; the message reaches the unacked hash only when the worker has read the reply and
run ``QoS.append`` (a second round trip). A worker main process SIGKILLed in between takes the
only copy with it: the message is in no queue and not unacked, so neither the orphan scan
(``redelivery.py``) nor the visibility timeout can bring it back, and the outbox row says
"sent". ``make chaos`` lost about one confirmation e-mail per run this way.

Reproduced deterministically: the worker main process is stopped (SIGSTOP) while its ``BRPOP``
is pending, the task is enqueued through the outbox (Redis hands the message to the stopped
process), then the worker is SIGKILLed. The outbox sweep (``relay_pending``: a row sent
``OUTBOX_REDELIVER_AFTER`` seconds ago whose task never recorded that it finished) publishes it
again; the restarted worker runs it once, records it finished, and a later sweep leaves it be.
"""

import os
import signal
import time
import uuid

import pytest
from django.conf import settings
from django.db import transaction

from core.celery_app import monitor, redelivery
from core.celery_app.testing import wait_for
from core.outbox.models import OutboxMessage
from core.outbox.services import enqueue, relay_pending

from .tasks_for_tests import slow_effect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("celery"),
    pytest.mark.django_db(transaction=True),
]


def _pending_brpop(client) -> bool:
    return any(c.get("cmd") == "brpop" and "b" in c.get("flags", "") for c in client.client_list())


def _lose_one_message(worker, client, counters, redis_url: str):
    """Enqueue one task into the stopped worker's pending BRPOP, then SIGKILL the worker.

    Returns (key, outbox row id). A BRPOP that timed out (1 s) in the instant between the check
    and the publish leaves the message on the queue: then the worker is resumed, runs it, and
    the next round tries again."""
    queue = monitor.global_keyprefix() + settings.CELERY_TASK_DEFAULT_QUEUE
    _, _, unacked = redelivery._keys()
    for _ in range(5):
        key = f"lost-{uuid.uuid4().hex}"
        wait_for(lambda: _pending_brpop(client), what="the worker's pending BRPOP")
        os.kill(worker.process.pid, signal.SIGSTOP)
        try:
            assert _pending_brpop(client)
            with transaction.atomic():
                message = enqueue(
                    slow_effect, kwargs={"key": key, "redis_url": redis_url, "sleep": 0}
                )
            message.refresh_from_db()
            assert message.sent_at is not None  # published: the outbox is done with it
            time.sleep(0.2)
            if client.llen(queue) == 0 and client.hlen(unacked) == 0:
                worker.kill()  # SIGKILL (works on a stopped process): the reply dies unread
                return key, message.pk
        finally:
            if worker.process.poll() is None:
                os.kill(worker.process.pid, signal.SIGCONT)
        wait_for(lambda k=key: counters.get(f"{k}:effects"), what="the queued task to run")
    raise AssertionError("the pending BRPOP timed out before the publish 5 times in a row")


def test_message_lost_in_a_killed_workers_brpop_is_sent_again_and_runs_once(
    start_worker, broker, settings
):
    settings.OUTBOX_REDELIVER_AFTER = 3
    client, counters = broker.client(0), broker.client(5)
    first = start_worker("lost")
    key, message_id = _lose_one_message(first, client, counters, broker.url_for(5))
    # Gone from the broker: nowhere to restore it from.
    queue = monitor.global_keyprefix() + settings.CELERY_TASK_DEFAULT_QUEUE
    assert client.llen(queue) == 0 and client.hlen(redelivery._keys()[2]) == 0

    second = start_worker("lost")  # what supervisord does: the same command again
    assert relay_pending()["redelivered"] == 0  # not yet: it may still be running somewhere
    row = OutboxMessage.objects.get(pk=message_id)
    wait_for(
        lambda: time.time() - row.sent_at.timestamp() > settings.OUTBOX_REDELIVER_AFTER + 0.5,
        what="OUTBOX_REDELIVER_AFTER to pass",
    )
    assert counters.get(f"{key}:deliveries") is None  # lost: nothing brought it back
    assert relay_pending()["redelivered"] == 1
    wait_for(lambda: counters.get(f"{key}:effects"), timeout=60, what="the task to run again")
    assert int(counters.get(f"{key}:deliveries")) == 1
    assert int(counters.get(f"{key}:effects")) == 1
    wait_for(
        lambda: OutboxMessage.objects.get(pk=message_id).completed,
        what="the worker to record the task finished",
    )
    time.sleep(settings.OUTBOX_REDELIVER_AFTER + 0.5)
    assert relay_pending()["redelivered"] == 0  # finished: never sent again
    time.sleep(1)
    assert int(counters.get(f"{key}:deliveries")) == 1
    second.check_running()

"""The transactional outbox: write a task in the caller's transaction, publish after commit.

``enqueue(task, kwargs=...)`` inserts an ``OutboxMessage`` in the current transaction and
registers an ``on_commit`` callback that publishes it right away (``relay_committed``). If that
publish fails (broker down, network) or the process dies first, the row stays pending with
``attempts``/``last_error``/``next_attempt_at`` and the periodic ``relay_pending`` (beat, every
few seconds) catches up:
it takes due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` so several relays never publish the
same row concurrently, publishes, and marks them sent. A rolled-back transaction takes its
messages with it: nothing is published.

A task that fails transiently parks its retry in its own row (``retries``, ``first_failed_at``,
``next_attempt_at``; ``core.outbox.retries``): the relay publishes it again when due. The "sent"
mark is conditional on ``retries`` being what was published, so a worker that failed and parked
the task before the publisher marked it sent is not overwritten (the retry would be lost).

"Sent" is not "done": the broker can still lose a published message (kombu's Redis transport
pops it with ``BRPOP`` and writes it to the unacked hash only after the worker has read it, so a
worker main process SIGKILLed in between takes the only copy; a Redis that lost its data; a
Sentinel replica promoted before it got the write). So every message is published with the
``OUTBOX_HEADER`` and the task marks its row ``completed`` when it is done with it (succeeded,
refused, dead-lettered; ``ErpTask._record_finished``). The relay sends again, with the same task
id, every row sent more than ``OUTBOX_REDELIVER_AFTER`` seconds ago (longer than any task may
run or wait for a broker countdown) that is still not completed (``requeue_unfinished``).

Delivery is at least once (a crash between publish and the ``sent_at`` update republishes the
same task id; a task slower than ``OUTBOX_REDELIVER_AFTER`` runs twice), so task effects must be
idempotent (``core.outbox.effects``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import BooleanField, Count, F, Min, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone

from core.requestid import CELERY_HEADER, get_request_id

from .models import OutboxMessage

logger = logging.getLogger("core.outbox")

# One quick reconnect (a pooled connection may be stale after a broker restart), then give up
# and leave the row for the periodic relay: a web request must not hang on a dead broker.
PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.1,
    "interval_max": 0.1,
}


def enqueue(task, *, args: Iterable = (), kwargs: dict | None = None, **options) -> OutboxMessage:
    """Write ``task`` to the outbox in the current transaction; publish it after commit.

    The row is born leased to this process for ``OUTBOX_CLAIM_SECONDS`` (its ``next_attempt_at``
    lies that far ahead), so the periodic relay leaves it to the on-commit publish and takes it
    over only if this process dies before publishing. The on-commit path therefore needs no
    lock and no extra transaction: publish, then one UPDATE.
    """
    from core.celery_app.base import check_task_arguments  # imported with the task itself

    args, kwargs = list(args), dict(kwargs or {})
    check_task_arguments(task, args, kwargs)
    message = enqueue_message(task.name, args, kwargs, options)
    transaction.on_commit(lambda: relay_committed(message), robust=True)
    return message


def enqueue_message(task_name: str, args: list, kwargs: dict, options: dict) -> OutboxMessage:
    """The outbox row of ``enqueue`` (leased to this process), without the on-commit publish."""
    request_id = get_request_id()
    if request_id:  # the worker logs the id of the request that queued the task
        options = {**options, "headers": {**options.get("headers", {}), CELERY_HEADER: request_id}}
    now = timezone.now()
    return OutboxMessage.objects.create(
        task_name=task_name,
        args=args,
        kwargs=kwargs,
        options=options,
        organization_id=kwargs.get("organization_id"),
        created_at=now,
        next_attempt_at=now + timedelta(seconds=settings.OUTBOX_CLAIM_SECONDS),
    )


def _publish(message: OutboxMessage) -> None:
    from core.celery_app import app
    from core.celery_app.base import OUTBOX_HEADER  # the Celery task base: on use, not at start

    if message.task_name not in app.tasks:
        app.loader.import_default_modules()  # web processes import tasks modules lazily
    task = app.tasks.get(message.task_name)
    options = {
        **message.options,
        "headers": {**message.options.get("headers", {}), OUTBOX_HEADER: "1"},
        "task_id": str(message.pk),
        "retry": True,
        "retry_policy": PUBLISH_RETRY_POLICY,
    }
    if message.retries:
        options["retries"] = message.retries  # the task's request.retries (log "attempt=")
    if task is not None:
        task.apply_async(message.args, message.kwargs, **options)
    else:  # a task only the workers know (no local registration)
        app.send_task(message.task_name, message.args, message.kwargs, **options)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.OUTBOX_RETRY_MAX_DELAY, 2 ** min(attempts, 20)))


def _record_failure(message: OutboxMessage, exc: Exception) -> None:
    error = f"{type(exc).__name__}: {exc}"[:2000]
    OutboxMessage.objects.filter(pk=message.pk).update(
        attempts=F("attempts") + 1,
        last_error=error,
        next_attempt_at=timezone.now() + _backoff(message.attempts + 1),
    )
    logger.warning(
        "outbox.publish_failed task=%s id=%s org=%s attempts=%s error=%s",
        message.task_name,
        message.pk,
        message.organization_id,
        message.attempts + 1,
        error,
    )


# The "sent" mark is committed without waiting for the WAL flush (synchronous_commit off for
# that one transaction): losing it in a server crash only means the message is published once
# more, which at-least-once delivery allows (tasks are idempotent, core.outbox.effects.once).
# It saves an fsync wait per published message, i.e. per order on the placement path.
# set_config(..., true) is transaction-local and the UPDATE is its own (autocommit) transaction
# or a short atomic block, so nothing else runs with it; PgBouncer-safe (no session state).
ASYNC_COMMIT = RawSQL(
    "set_config('synchronous_commit', 'off', true) = 'off'", [], output_field=BooleanField()
)


def _mark_sent(messages: list[OutboxMessage]) -> None:
    """Mark published messages sent, unless the task already failed and parked a retry."""
    by_retries: dict[int, list] = {}
    for message in messages:
        by_retries.setdefault(message.retries, []).append(message.pk)
    for retries, ids in by_retries.items():
        OutboxMessage.objects.alias(async_commit=ASYNC_COMMIT).filter(
            pk__in=ids, retries=retries, async_commit=True
        ).update(sent_at=timezone.now(), attempts=F("attempts") + 1)


def relay_committed(message: OutboxMessage) -> bool:
    """The on-commit publish of one message this process owns (leased). Never raises."""
    try:
        _publish(message)
    except Exception as exc:  # noqa: BLE001 - the periodic relay will retry it
        try:
            _record_failure(message, exc)
        except Exception:  # noqa: BLE001 - the lease expires and the relay takes over anyway
            logger.exception("outbox.record_failed id=%s", message.pk)
        return False
    try:
        _mark_sent([message])
    except Exception:  # noqa: BLE001 - published but not marked: republished later (at least once)
        logger.exception("outbox.mark_sent_failed id=%s", message.pk)
    return True


def requeue_unfinished(*, limit: int | None = None) -> int:
    """Make rows pending again that were sent ``OUTBOX_REDELIVER_AFTER`` seconds ago and whose
    task never recorded that it finished (lost by the broker or with its worker); their number.

    Each one is logged (``outbox.redeliver``); ``relay_pending`` then publishes it with the same
    task id. The effects are idempotent (``once``), so a task that was only slow runs twice
    without doing anything twice. A row sent again ``OUTBOX_REDELIVER_MAX`` times already (a
    queue no worker consumes, a task no worker knows) becomes a dead letter instead: visible in
    readiness and ``celery_status``, re-sent by ``manage.py retry_dead_tasks``.
    """
    from .models import DeadLetter

    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.OUTBOX_REDELIVER_AFTER)
    with transaction.atomic():
        rows = list(
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(sent_at__lt=cutoff, completed=False)
            .order_by("sent_at")[: limit or settings.OUTBOX_RELAY_BATCH_SIZE]
        )
        again = [row for row in rows if row.redeliveries < settings.OUTBOX_REDELIVER_MAX]
        given_up = [row for row in rows if row.redeliveries >= settings.OUTBOX_REDELIVER_MAX]
        if again:
            OutboxMessage.objects.filter(pk__in=[row.pk for row in again]).update(
                sent_at=None, next_attempt_at=now, redeliveries=F("redeliveries") + 1
            )
        for row in given_up:
            DeadLetter.record(
                str(row.pk),
                now=now,
                task_name=row.task_name,
                args=row.args,
                kwargs=row.kwargs,
                options=row.options,
                organization_id=row.organization_id,
                exception=f"NotFinished: sent {row.redeliveries + 1} times, never finished",
                transient=True,
                attempts=row.redeliveries + 1,
                first_failed_at=row.sent_at,
            )
        if given_up:
            OutboxMessage.objects.filter(pk__in=[row.pk for row in given_up]).update(completed=True)
    for row in again:
        logger.warning(
            "outbox.redeliver task=%s id=%s org=%s sent_at=%s redeliveries=%s: not finished "
            "after OUTBOX_REDELIVER_AFTER=%ss (lost by the broker or with a killed worker), "
            "sent again",
            row.task_name,
            row.pk,
            row.organization_id,
            row.sent_at.isoformat(timespec="seconds"),
            row.redeliveries + 1,
            settings.OUTBOX_REDELIVER_AFTER,
        )
    for row in given_up:
        logger.error(
            "outbox.redeliver_gave_up task=%s id=%s org=%s: sent %s times, never finished; "
            "dead-lettered (manage.py retry_dead_tasks)",
            row.task_name,
            row.pk,
            row.organization_id,
            row.redeliveries + 1,
        )
    return len(again)


def relay_pending(*, batch_size: int | None = None, max_batches: int | None = None) -> dict:
    """Publish every due pending message, batch by batch (``SKIP LOCKED``); drop old sent rows.

    First the sent rows whose task never finished become pending again (``requeue_unfinished``).
    Returns ``{"sent": n, "failed": n, "deleted": n, "redelivered": n}``. Stops at the first
    failed publish (the broker is most likely down; the rest of the batch keeps its schedule).
    """
    batch_size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    totals = {"sent": 0, "failed": 0, "deleted": 0}
    totals["redelivered"] = requeue_unfinished(limit=batch_size)
    batches = 0
    while max_batches is None or batches < max_batches:
        batches += 1
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True, next_attempt_at__lte=timezone.now())
                .order_by("next_attempt_at")[:batch_size]
            )
            sent = []
            for message in rows:
                try:
                    _publish(message)
                except Exception as exc:  # noqa: BLE001 - any publish failure: retry later
                    _record_failure(message, exc)
                    totals["failed"] += 1
                    break
                sent.append(message)
            _mark_sent(sent)
        totals["sent"] += len(sent)
        if totals["failed"] or len(rows) < batch_size:
            break
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS)
    totals["deleted"], _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return totals


def outbox_backlog() -> tuple[int, float | None]:
    """(pending messages, age in seconds of the oldest one or None).

    Parked retries (a task that failed transiently and waits for its next attempt) are not a
    backlog: they wait by design; ``parked_retries`` counts them."""
    unsent = Q(sent_at__isnull=True, retries=0)
    row = OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=unsent),
        oldest=Min("created_at", filter=unsent),
    )
    oldest = row["oldest"]
    age = None if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
    return row["pending"], age


def parked_retries() -> int:
    """Tasks waiting in the outbox for their next attempt after a transient failure."""
    return OutboxMessage.objects.filter(sent_at__isnull=True, retries__gt=0).count()

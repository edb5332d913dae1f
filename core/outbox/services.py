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

Delivery is at least once (a crash between publish and the ``sent_at`` update republishes the
same task id), so task effects must be idempotent (``core.outbox.effects``).
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

    if message.task_name not in app.tasks:
        app.loader.import_default_modules()  # web processes import tasks modules lazily
    task = app.tasks.get(message.task_name)
    options = {
        **message.options,
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
_ASYNC_COMMIT = RawSQL(
    "set_config('synchronous_commit', 'off', true) = 'off'", [], output_field=BooleanField()
)


def _mark_sent(messages: list[OutboxMessage]) -> None:
    """Mark published messages sent, unless the task already failed and parked a retry."""
    by_retries: dict[int, list] = {}
    for message in messages:
        by_retries.setdefault(message.retries, []).append(message.pk)
    for retries, ids in by_retries.items():
        OutboxMessage.objects.alias(async_commit=_ASYNC_COMMIT).filter(
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


def relay_pending(*, batch_size: int | None = None, max_batches: int | None = None) -> dict:
    """Publish every due pending message, batch by batch (``SKIP LOCKED``); drop old sent rows.

    Returns ``{"sent": n, "failed": n, "deleted": n}``. Stops at the first failed publish (the
    broker is most likely down; the rest of the batch keeps its schedule).
    """
    batch_size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    totals = {"sent": 0, "failed": 0, "deleted": 0}
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

"""The transactional outbox: write a task in the caller's transaction, publish after commit.

``enqueue(task, kwargs=...)`` inserts an ``OutboxMessage`` in the current transaction and
registers an ``on_commit`` callback that publishes it right away (``relay_messages``). If that
publish fails (broker down, network), the row stays pending with ``attempts``/``last_error``/
``next_attempt_at`` and the periodic ``relay_pending`` (beat, every few seconds) catches up:
it takes due rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` so several relays never publish the
same row concurrently, publishes, and marks them sent. A rolled-back transaction takes its
messages with it: nothing is published.

Delivery is at least once (a crash between publish and the ``sent_at`` update republishes the
same task id), so task effects must be idempotent (``core.outbox.effects``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from core.celery_app.base import check_task_arguments

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
    """Write ``task`` to the outbox in the current transaction; publish it after commit."""
    args, kwargs = list(args), dict(kwargs or {})
    check_task_arguments(task, args, kwargs)
    message = OutboxMessage.objects.create(
        task_name=task.name,
        args=args,
        kwargs=kwargs,
        options=options,
        organization_id=kwargs.get("organization_id"),
    )
    transaction.on_commit(lambda: relay_messages([message.pk]), robust=True)
    return message


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
    if task is not None:
        task.apply_async(message.args, message.kwargs, **options)
    else:  # a task only the workers know (no local registration)
        app.send_task(message.task_name, message.args, message.kwargs, **options)


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(settings.OUTBOX_RETRY_MAX_DELAY, 2 ** min(attempts, 20)))


def _relay_locked(rows: list[OutboxMessage]) -> tuple[int, int]:
    """Publish locked rows in order; stop at the first failure (the broker is likely down)."""
    now = timezone.now()
    sent: list[OutboxMessage] = []
    failed = 0
    for message in rows:
        try:
            _publish(message)
        except Exception as exc:  # noqa: BLE001 - any publish failure leaves the row pending
            message.attempts += 1
            message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
            message.next_attempt_at = now + _backoff(message.attempts)
            message.save(update_fields=["attempts", "last_error", "next_attempt_at"])
            logger.warning(
                "outbox.publish_failed task=%s id=%s org=%s attempts=%s error=%s",
                message.task_name,
                message.pk,
                message.organization_id,
                message.attempts,
                message.last_error,
            )
            failed += 1
            break
        message.sent_at = now
        message.attempts += 1
        sent.append(message)
    if sent:
        OutboxMessage.objects.bulk_update(sent, ["sent_at", "attempts"])
    return len(sent), failed


def relay_messages(ids: list) -> int:
    """Publish these messages if still pending (the on-commit path). Never raises."""
    try:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk__in=ids, sent_at__isnull=True)
                .order_by("created_at")
            )
            return _relay_locked(rows)[0]
    except Exception:  # noqa: BLE001 - the periodic relay will pick the rows up
        logger.exception("outbox.relay_failed ids=%s", ids)
        return 0


def relay_pending(*, batch_size: int | None = None, max_batches: int | None = None) -> dict:
    """Publish every due pending message, batch by batch (``SKIP LOCKED``); drop old sent rows.

    Returns ``{"sent": n, "failed": n, "deleted": n}``. Stops early when a publish fails.
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
            sent, failed = _relay_locked(rows)
        totals["sent"] += sent
        totals["failed"] += failed
        if failed or len(rows) < batch_size:
            break
    cutoff = timezone.now() - timedelta(days=settings.OUTBOX_KEEP_SENT_DAYS)
    totals["deleted"], _ = OutboxMessage.objects.filter(sent_at__lt=cutoff).delete()
    return totals


def outbox_backlog() -> tuple[int, float | None]:
    """(pending messages, age in seconds of the oldest one or None)."""
    row = OutboxMessage.objects.aggregate(
        pending=Count("pk", filter=Q(sent_at__isnull=True)),
        oldest=Min("created_at", filter=Q(sent_at__isnull=True)),
    )
    oldest = row["oldest"]
    age = None if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
    return row["pending"], age

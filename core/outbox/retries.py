"""The retry store of ``core.celery_app.retry``: parked retries and dead letters, in PostgreSQL.

A transient failure parks the task in its own outbox row (the row's primary key is the task
id, see ``services._publish``): ``retries`` + 1, ``first_failed_at`` kept from the first
failure, ``sent_at`` cleared and ``next_attempt_at`` set to the backoff. The periodic relay
publishes it again, with the same task id, when it is due. A task published without the outbox
(``.delay()``, a broker retry) gets a row created on its first parked failure.

A final failure becomes a ``DeadLetter`` (one per task id).

A task the outbox published records in its row that it finished (``finished``: ``completed``);
``services.requeue_unfinished`` sends again a row whose task never did.
"""

from __future__ import annotations

import traceback
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction

from core.celery_app.retry import Parked, RetryPolicy
from core.requestid import CELERY_HEADER, well_formed

from .models import DeadLetter, OutboxMessage
from .services import ASYNC_COMMIT

TRACEBACK_CHARS = 4000


def _task_uuid(request) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(request.id))
    except (TypeError, ValueError):
        return None


def _options(request) -> dict:
    """What to keep when the task is published again: the routing (a non-default queue) and the
    id of the request that queued it (so a retry or a re-sent dead letter logs it too)."""
    options = {}
    delivery = getattr(request, "delivery_info", None) or {}
    queue = delivery.get("routing_key")
    if queue and not delivery.get("is_eager") and queue != settings.CELERY_TASK_DEFAULT_QUEUE:
        options["queue"] = queue
    # A worker exposes custom headers as request attributes; apply() keeps them in .headers.
    request_id = getattr(request, CELERY_HEADER, None) or (
        getattr(request, "headers", None) or {}
    ).get(CELERY_HEADER)
    if well_formed(request_id):
        options["headers"] = {CELERY_HEADER: request_id}
    return options


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


class OutboxRetryStore:
    def park(self, task, request, args, kwargs, exc, policy: RetryPolicy, now) -> Parked:
        task_id = _task_uuid(request)
        with transaction.atomic():
            row = None
            if task_id is not None:
                row = OutboxMessage.objects.select_for_update().filter(pk=task_id).first()
            if row is None:
                row = OutboxMessage(
                    pk=task_id or uuid.uuid4(),
                    task_name=task.name,
                    args=list(args),
                    kwargs=dict(kwargs),
                    options=_options(request),
                    organization_id=kwargs.get("organization_id"),
                    created_at=now,
                    # A broker retry that is parked now has done request.retries already.
                    retries=request.retries or 0,
                )
            first_failed_at = row.first_failed_at or now
            done = row.retries  # retries already done before this failure
            if policy.exhausted(done, first_failed_at, now):
                if row._state.adding:
                    return Parked(done + 1, first_failed_at, None)
                OutboxMessage.objects.filter(pk=row.pk).update(
                    sent_at=row.sent_at or now, last_error=describe(exc)
                )
                return Parked(done + 1, first_failed_at, None)
            next_attempt_at = now + timedelta(seconds=policy.delay(done))
            row.retries = done + 1
            row.first_failed_at = first_failed_at
            row.next_attempt_at = next_attempt_at
            row.sent_at = None
            row.last_error = describe(exc)
            row.save()
        return Parked(done + 1, first_failed_at, next_attempt_at)

    def dead_letter(
        self, task, request, args, kwargs, exc, *, transient, attempts, first_failed_at, now
    ) -> None:
        summary = "".join(traceback.format_exception(exc))[-TRACEBACK_CHARS:]
        DeadLetter.record(
            str(request.id or uuid.uuid4()),
            now=now,
            task_name=task.name,
            args=list(args),
            kwargs=dict(kwargs),
            options=_options(request),
            organization_id=kwargs.get("organization_id"),
            exception=describe(exc),
            traceback=summary,
            transient=transient,
            attempts=attempts,
            first_failed_at=first_failed_at,
        )

    def finished(self, task, request) -> None:
        # Without waiting for the WAL flush: a mark lost in a server crash only means one more
        # (idempotent) run after OUTBOX_REDELIVER_AFTER.
        task_id = _task_uuid(request)
        if task_id is not None:
            OutboxMessage.objects.alias(async_commit=ASYNC_COMMIT).filter(
                pk=task_id, completed=False, async_commit=True
            ).update(completed=True)

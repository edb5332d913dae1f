"""Reading and re-sending dead letters (``manage.py retry_dead_tasks``, health, metrics, doctor).

A re-send writes a fresh outbox message (new task id, new retry window) in the same transaction
that marks the dead letter re-sent, then publishes it like any outbox message: if the broker is
down it waits in the outbox for the relay. The task's effects go through ``once()``, so work
whose first attempt did happen (an e-mail sent, then a failure) is not done twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Count, Min
from django.utils import timezone

from .models import DeadLetter, OutboxMessage
from .services import enqueue_message, relay_committed


def dead_letter_summary() -> tuple[int, float | None]:
    """(unresolved dead letters, age in seconds of the oldest one or None)."""
    row = DeadLetter.objects.filter(resent_at__isnull=True).aggregate(
        count=Count("pk"), oldest=Min("last_failed_at")
    )
    oldest = row["oldest"]
    age = None if oldest is None else max(0.0, (timezone.now() - oldest).total_seconds())
    return row["count"], age


@dataclass(frozen=True)
class Resent:
    dead_letter: DeadLetter
    message: OutboxMessage
    published: bool  # False: broker unreachable, the outbox relay publishes it later


def resend(dead: DeadLetter) -> Resent:
    """Re-send one dead letter through the outbox; commits before publishing."""
    with transaction.atomic():
        locked = DeadLetter.objects.select_for_update().get(pk=dead.pk)
        message = enqueue_message(
            locked.task_name, list(locked.args), dict(locked.kwargs), dict(locked.options)
        )
        locked.resent_at = timezone.now()
        locked.resent_message_id = message.pk
        locked.resend_count += 1
        locked.save(update_fields=["resent_at", "resent_message_id", "resend_count"])
    return Resent(locked, message, relay_committed(message))

"""Outbox messages (tasks waiting to reach the broker) and effects recorded as done."""

import uuid

from django.db import models
from django.utils import timezone


class OutboxMessage(models.Model):
    """A task to publish, written in the same transaction as the change that calls for it.

    The primary key doubles as the Celery task id, so a message published twice (relay crashed
    between publishing and marking it sent) is recognisable as the same task.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task_name = models.CharField(max_length=200)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(sent_at__isnull=True),
                name="outbox_pending_idx",
            ),
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False),
                name="outbox_sent_idx",
            ),
        ]

    def __str__(self) -> str:
        state = "sent" if self.sent_at else f"pending ({self.attempts} attempts)"
        return f"{self.task_name} {self.pk} {state}"


class TaskEffect(models.Model):
    """An effect that happened, under a unique key: the idempotency ledger.

    ``core.outbox.effects.once(key)`` inserts the key in the transaction that performs the
    effect; a second run of the same task finds the key and skips.
    """

    key = models.CharField(max_length=200, unique=True)
    task_name = models.CharField(max_length=200, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.key

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
    # Transient failures of the task itself (not of publishing): the task parked its retry here
    # (core.celery_app.retry); the relay publishes it again at next_attempt_at.
    retries = models.IntegerField(default=0, db_default=0)  # db_default: old code can insert
    first_failed_at = models.DateTimeField(null=True, blank=True)
    # The worker sets it when the task finished (succeeded, refused or dead-lettered). A row
    # sent OUTBOX_REDELIVER_AFTER seconds ago and still not completed was lost on the way (by
    # the broker or a killed worker) and is published again (services.requeue_unfinished).
    # db_default True: rows written before this field existed (or by old code during a deploy)
    # count as completed and are never swept; new rows start at False.
    completed = models.BooleanField(default=False, db_default=True)
    # Times the sweep sent it again; past OUTBOX_REDELIVER_MAX it becomes a dead letter instead
    # (a queue nobody consumes, a task no worker knows: never finishing, it would pile up copies).
    redeliveries = models.IntegerField(default=0, db_default=0)  # no CHECK: no scan

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
            models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False, completed=False),
                name="outbox_unfinished_idx",
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


class DeadLetter(models.Model):
    """A task that gave up: a non-transient error, or transient errors past the retry window.

    Written by the worker (``core.outbox.retries.OutboxRetryStore.dead_letter``); re-sent
    through the outbox by ``manage.py retry_dead_tasks``, which sets ``resent_at`` and
    ``resent_message_id``. Unresolved rows (``resent_at`` empty) make readiness ``degraded``,
    ``manage.py doctor`` warn and ``erp_celery_dead_letters`` non-zero.
    """

    task_name = models.CharField(max_length=200)
    task_id = models.CharField(max_length=64, unique=True)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=dict, blank=True)
    organization_id = models.BigIntegerField(null=True, blank=True)
    exception = models.TextField()  # "Type: message"
    traceback = models.TextField(blank=True)  # the last frames
    transient = models.BooleanField(default=False)  # True: gave up after the retry window
    attempts = models.PositiveIntegerField(default=1)
    first_failed_at = models.DateTimeField()
    last_failed_at = models.DateTimeField()
    resent_at = models.DateTimeField(null=True, blank=True)
    resent_message_id = models.UUIDField(null=True, blank=True)
    resend_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["id"]
        indexes = [
            models.Index(
                fields=["last_failed_at"],
                condition=models.Q(resent_at__isnull=True),
                name="deadletter_unresolved_idx",
            )
        ]

    def __str__(self) -> str:
        state = f"re-sent {self.resent_at:%Y-%m-%d %H:%M}" if self.resent_at else "dead"
        return f"{self.task_name} {self.task_id} {state}"

    @classmethod
    def record(cls, task_id: str, *, now, **fields) -> None:
        """Write (or overwrite) the dead letter of ``task_id``: it failed for good at ``now`` and
        has not been re-sent since (``manage.py retry_dead_tasks`` sets ``resent_at``)."""
        cls.objects.update_or_create(
            task_id=task_id, defaults={**fields, "last_failed_at": now, "resent_at": None}
        )

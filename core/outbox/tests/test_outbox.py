from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.outbox import services
from core.outbox.effects import once
from core.outbox.models import OutboxMessage, TaskEffect
from core.outbox.services import enqueue, outbox_backlog, relay_pending
from core.outbox.tasks import relay_outbox

pytestmark = pytest.mark.django_db

TASK = "core.outbox.tasks.relay_outbox"


def test_enqueue_writes_in_the_transaction_and_publishes_on_commit(
    django_capture_on_commit_callbacks,
):
    with mock.patch.object(services, "_publish") as publish:
        with django_capture_on_commit_callbacks(execute=True):
            message = enqueue(relay_outbox, kwargs={"x": 1})
            assert OutboxMessage.objects.filter(pk=message.pk, sent_at=None).exists()
            publish.assert_not_called()  # not before commit
    publish.assert_called_once()
    message.refresh_from_db()
    assert message.sent_at is not None and message.attempts == 1


def test_rolled_back_enqueue_leaves_nothing(django_capture_on_commit_callbacks):
    with mock.patch.object(services, "_publish") as publish:
        with django_capture_on_commit_callbacks(execute=True) as callbacks:
            with pytest.raises(RuntimeError), transaction.atomic():
                enqueue(relay_outbox)
                raise RuntimeError
    assert callbacks == [] and not OutboxMessage.objects.exists()
    publish.assert_not_called()


def test_publish_failure_keeps_the_message_for_the_periodic_relay(
    django_capture_on_commit_callbacks,
):
    with mock.patch.object(services, "_publish", side_effect=ConnectionError("refused")):
        with django_capture_on_commit_callbacks(execute=True):
            message = enqueue(relay_outbox)
    message.refresh_from_db()
    assert message.sent_at is None and message.attempts == 1
    assert "refused" in message.last_error and message.next_attempt_at > timezone.now()
    assert outbox_backlog()[0] == 1

    with mock.patch.object(services, "_publish") as publish:
        assert relay_pending()["sent"] == 0  # backing off: not due yet
        OutboxMessage.objects.update(next_attempt_at=timezone.now())
        assert relay_pending()["sent"] == 1
        assert relay_pending()["sent"] == 0  # never twice
    assert publish.call_count == 1
    assert outbox_backlog() == (0, None)


def test_message_of_a_process_that_died_before_publishing_is_taken_over_after_the_lease(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=False):  # commit, then "crash"
        message = enqueue(relay_outbox)
    with mock.patch.object(services, "_publish") as publish:
        assert relay_pending()["sent"] == 0  # still leased to its on-commit publish
        OutboxMessage.objects.update(next_attempt_at=timezone.now())  # lease expired
        assert relay_pending()["sent"] == 1
    assert publish.call_args.args[0].pk == message.pk


def test_periodic_relay_stops_at_first_failure_and_backs_off():
    OutboxMessage.objects.bulk_create(OutboxMessage(task_name=TASK) for _ in range(3))
    with mock.patch.object(services, "_publish", side_effect=OSError("down")) as publish:
        assert relay_pending() == {"sent": 0, "failed": 1, "deleted": 0, "redelivered": 0}
    assert publish.call_count == 1
    attempts = sorted(OutboxMessage.objects.values_list("attempts", flat=True))
    assert attempts == [0, 0, 1]


@pytest.mark.django_db(transaction=True)
def test_relay_skips_rows_locked_by_another_relay():
    first, second = OutboxMessage.objects.bulk_create(
        [OutboxMessage(task_name=TASK), OutboxMessage(task_name=TASK)]
    )
    other = connection.copy()  # "another relay": holds a row lock on ``first``
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute(
                "SELECT id FROM outbox_outboxmessage WHERE id = %s FOR UPDATE", [first.pk]
            )
            with mock.patch.object(services, "_publish") as publish:
                assert relay_pending()["sent"] == 1  # does not wait for the lock
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    assert publish.call_args.args[0].pk == second.pk
    assert list(OutboxMessage.objects.filter(sent_at=None).values_list("pk", flat=True)) == [
        first.pk
    ]


def test_old_sent_messages_are_deleted(settings):
    settings.OUTBOX_KEEP_SENT_DAYS = 7
    old = timezone.now() - timedelta(days=8)
    OutboxMessage.objects.create(task_name=TASK, sent_at=old, completed=True)
    OutboxMessage.objects.create(task_name=TASK, sent_at=timezone.now())
    assert relay_pending()["deleted"] == 1
    assert OutboxMessage.objects.count() == 1


def test_backlog_reports_count_and_oldest_age():
    OutboxMessage.objects.create(task_name=TASK, created_at=timezone.now() - timedelta(minutes=5))
    OutboxMessage.objects.create(task_name=TASK)
    OutboxMessage.objects.create(task_name=TASK, sent_at=timezone.now())
    pending, oldest = outbox_backlog()
    assert pending == 2 and 299 < oldest < 400


def test_once_runs_the_effect_once_and_forgets_it_on_error():
    effects = []
    for _ in range(2):
        with once("k1") as first:
            if first:
                effects.append(1)
    assert effects == [1] and TaskEffect.objects.filter(key="k1").count() == 1

    with pytest.raises(RuntimeError), once("k2") as first:
        assert first
        raise RuntimeError("effect failed")
    assert not TaskEffect.objects.filter(key="k2").exists()  # a retry will do it
    with once("k2") as first:
        assert first


def test_enqueue_refuses_model_instances():
    with pytest.raises(TypeError, match="pass ids"):
        enqueue(relay_outbox, kwargs={"message": OutboxMessage(task_name=TASK)})


def test_sent_rows_whose_task_never_finished_are_sent_again_after_the_bound(settings):
    """The broker lost it (test_lost_message.py has the real thing): pending again, same id."""
    settings.OUTBOX_REDELIVER_AFTER = 600
    now = timezone.now()
    old = now - timedelta(seconds=601)
    lost, done, young = OutboxMessage.objects.bulk_create(
        [
            OutboxMessage(task_name=TASK, sent_at=old),
            OutboxMessage(task_name=TASK, sent_at=old, completed=True),
            OutboxMessage(task_name=TASK, sent_at=now - timedelta(seconds=500)),
        ]
    )
    with connection.cursor() as cursor:  # a row from before the column (or old code): done
        cursor.execute(
            f"INSERT INTO {OutboxMessage._meta.db_table} (id, task_name, args, kwargs, options, "
            "created_at, next_attempt_at, attempts, last_error, sent_at) VALUES "
            "(gen_random_uuid(), %s, '[]', '{}', '{}', %s, %s, 1, '', %s) RETURNING id",
            [TASK, old, old, old],
        )
        legacy = cursor.fetchone()[0]
    assert OutboxMessage.objects.get(pk=legacy).completed is True
    with mock.patch.object(services, "_publish") as publish:
        assert relay_pending() == {"sent": 1, "failed": 0, "deleted": 0, "redelivered": 1}
    assert [call.args[0].pk for call in publish.call_args_list] == [lost.pk]
    lost.refresh_from_db()
    assert lost.sent_at > old and lost.completed is False  # sent again, still not finished
    for row in (done, young):
        row.refresh_from_db()
        assert row.sent_at in (old, now - timedelta(seconds=500))
    with mock.patch.object(services, "_publish") as publish:
        assert relay_pending()["redelivered"] == 0  # just sent again: the bound starts over
    publish.assert_not_called()


def test_a_row_that_never_finishes_becomes_a_dead_letter_after_the_last_resend(settings):
    from core.outbox.models import DeadLetter

    settings.OUTBOX_REDELIVER_AFTER, settings.OUTBOX_REDELIVER_MAX = 600, 2
    old = timezone.now() - timedelta(seconds=601)
    row = OutboxMessage.objects.create(task_name=TASK, kwargs={"x": 1}, sent_at=old)
    with mock.patch.object(services, "_publish") as publish:
        for _ in range(2):
            assert relay_pending()["redelivered"] == 1
            OutboxMessage.objects.filter(pk=row.pk).update(sent_at=old)
        assert relay_pending()["redelivered"] == 0
    assert publish.call_count == 2
    row.refresh_from_db()
    assert row.completed and row.redeliveries == 2
    dead = DeadLetter.objects.get()
    assert dead.task_id == str(row.pk) and dead.kwargs == {"x": 1}
    assert dead.exception == "NotFinished: sent 3 times, never finished"

"""The retry policy (issue 9, "delivery that is never silently dropped"), in eager mode.

The real worker + real SMTP server version is ``test_smtp_outage.py``.
"""

import errno
import smtplib
import socket
from datetime import timedelta

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from api.v1.sales.orders.tasks import confirmation_key, send_order_confirmation
from core.celery_app.base import OUTBOX_HEADER, erp_task
from core.celery_app.retry import RETRY_JITTER, RetryPolicy, is_transient
from core.outbox.models import DeadLetter, OutboxMessage, TaskEffect
from core.outbox.services import relay_pending

DAY = 24 * 3600


def test_default_schedule_retries_for_24_hours_with_capped_backoff(settings):
    policy = RetryPolicy.for_task(send_order_confirmation)
    assert policy.window == DAY == settings.CELERY_TASK_RETRY_WINDOW
    schedule = policy.worst_case_schedule()
    # Even when jitter draws the shortest delay every time, the retries span >= 24 h ...
    assert sum(schedule) >= DAY
    # ... no wait is longer than the cap (10 min), the first ones double from 2 s.
    assert max(schedule) <= 600
    nominal = [policy.nominal_delay(n) for n in range(12)]
    assert nominal[:10] == [2, 4, 8, 16, 32, 64, 128, 256, 512, 600]
    assert all(d == 600 for d in nominal[9:])
    # ~190 retries: far more than Celery's 5 that lost 87 of 105 e-mails.
    assert policy.retry_limit() == len(schedule) > 150


def test_jitter_stays_within_its_band():
    policy = RetryPolicy(window=DAY, backoff=2, backoff_max=600)
    assert policy.delay(20, rng=lambda: 0.0) == 600
    assert policy.delay(20, rng=lambda: 1.0) == 600 * (1 - RETRY_JITTER)
    assert policy.delay(0, rng=lambda: 0.5) == 2 * (1 - RETRY_JITTER / 2)


def test_an_explicit_max_retries_bounds_the_window():
    policy = RetryPolicy(window=DAY, backoff=2, backoff_max=600, max_retries=3)
    now = timezone.now()
    assert not policy.exhausted(2, now, now) and policy.exhausted(3, now, now)
    assert policy.retry_limit() == 3


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        (ConnectionRefusedError(errno.ECONNREFUSED, "refused"), True),
        (TimeoutError("timed out"), True),
        (TimeoutError(), True),
        (socket.gaierror(-3, "Temporary failure in name resolution"), True),
        (OSError(errno.ENETUNREACH, "Network is unreachable"), True),
        (smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), True),
        (smtplib.SMTPConnectError(421, b"busy"), True),
        (smtplib.SMTPResponseException(451, b"local error"), True),
        (smtplib.SMTPSenderRefused(451, b"try later", "a@b"), True),
        (smtplib.SMTPException("weird"), True),
        (smtplib.SMTPRecipientsRefused({"x@y": (450, b"mailbox busy")}), True),
        (smtplib.SMTPRecipientsRefused({"x@y": (550, b"no such user")}), False),
        (smtplib.SMTPAuthenticationError(535, b"bad credentials"), False),
        (smtplib.SMTPDataError(554, b"rejected"), False),
        (OSError(errno.ENOENT, "No such file"), False),
        (ValueError("bad data"), False),
    ],
)
def test_transient_errors_are_classified(exc, transient):
    assert is_transient(exc) is transient


# --- the policy applied to a task (eager) -----------------------------------------------------

attempts: list = []


@erp_task(name="tests.retry_policy.fails")
def fails(*, error: str) -> None:
    attempts.append(error)
    if error == "refused":
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")
    raise ValueError("a bug, not an outage")


@pytest.fixture(autouse=True)
def _reset():
    attempts.clear()


@pytest.mark.django_db
def test_a_transient_failure_is_parked_in_the_outbox_and_logged(caplog):
    before = timezone.now()
    with pytest.raises(Retry):
        fails.apply(kwargs={"error": "refused"}, throw=True)
    row = OutboxMessage.objects.get()
    assert row.task_name == "tests.retry_policy.fails" and row.kwargs == {"error": "refused"}
    assert row.retries == 1 and row.sent_at is None and row.first_failed_at >= before
    delay = (row.next_attempt_at - row.first_failed_at).total_seconds()
    assert 2 * (1 - RETRY_JITTER) <= delay <= 2
    assert "ConnectionRefusedError" in row.last_error
    [line] = [r.getMessage() for r in caplog.records if "task.retry" in r.getMessage()]
    assert f"next_attempt_at={row.next_attempt_at.isoformat(timespec='seconds')}" in line
    assert "attempt=1" in line
    assert not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_a_parked_retry_and_a_dead_letter_keep_the_request_id_of_the_queueing_request():
    """A task queued during a request (not through the outbox: no row yet) and parked on a
    transient failure is re-published by the relay with the request id header, so the worker
    logs the id on the retry too (core.celery_app.signals); a dead letter re-sent likewise."""
    with pytest.raises(Retry):
        fails.apply(kwargs={"error": "refused"}, headers={"request_id": "req-abc12345"}, throw=True)
    row = OutboxMessage.objects.get()
    assert row.options["headers"] == {"request_id": "req-abc12345"}
    with pytest.raises(ValueError):
        fails.apply(kwargs={"error": "bug"}, headers={"request_id": "req-def67890"})
    dead = DeadLetter.objects.get(kwargs={"error": "bug"})
    assert dead.options["headers"] == {"request_id": "req-def67890"}
    # A malformed id is not carried (the worker would refuse it anyway).
    with pytest.raises(ValueError):
        fails.apply(kwargs={"error": "bug"}, headers={"request_id": "no spaces allowed!"})
    assert DeadLetter.objects.count() == 2
    assert all("headers" not in d.options for d in DeadLetter.objects.exclude(pk=dead.pk))


@pytest.mark.django_db
def test_parked_retries_back_off_up_to_the_cap_then_give_up_after_the_window():
    with pytest.raises(Retry):
        fails.apply(kwargs={"error": "refused"}, throw=True)
    row = OutboxMessage.objects.get()
    task_id = str(row.pk)
    first = row.first_failed_at
    # 30 failures later (each a relay republish with the same task id), the delay is capped.
    OutboxMessage.objects.filter(pk=row.pk).update(retries=30)
    with pytest.raises(Retry):
        fails.apply(kwargs={"error": "refused"}, task_id=task_id, retries=30, throw=True)
    row.refresh_from_db()
    assert row.retries == 31 and row.first_failed_at == first  # the window counts from the 1st
    delay = (row.next_attempt_at - timezone.now()).total_seconds()
    assert 600 * (1 - RETRY_JITTER) - 5 <= delay <= 600
    # 23 h 59 min after the first failure: still retrying.
    OutboxMessage.objects.filter(pk=row.pk).update(first_failed_at=first - timedelta(hours=23.98))
    with pytest.raises(Retry):
        fails.apply(kwargs={"error": "refused"}, task_id=task_id, retries=31, throw=True)
    assert not DeadLetter.objects.exists()
    # Past 24 h: gives up, once, into the dead-letter table.
    OutboxMessage.objects.filter(pk=row.pk).update(first_failed_at=first - timedelta(hours=24))
    with pytest.raises(ConnectionRefusedError):
        fails.apply(kwargs={"error": "refused"}, task_id=task_id, retries=32, throw=True)
    dead = DeadLetter.objects.get()
    assert dead.task_id == task_id and dead.transient and dead.attempts == 33
    assert dead.first_failed_at == first - timedelta(hours=24)
    assert dead.exception.startswith("ConnectionRefusedError")
    assert "raise ConnectionRefusedError" in dead.traceback
    assert dead.kwargs == {"error": "refused"} and dead.resent_at is None
    row.refresh_from_db()
    assert row.sent_at is not None  # not republished by the relay any more
    assert relay_pending()["sent"] == 0


@pytest.mark.django_db
def test_a_non_transient_failure_is_dead_lettered_at_once():
    with pytest.raises(ValueError):
        fails.apply(kwargs={"error": "bug"}, throw=True)
    dead = DeadLetter.objects.get()
    assert not dead.transient and dead.attempts == 1 and "a bug" in dead.exception
    assert not OutboxMessage.objects.exists()  # nothing parked
    assert attempts == ["bug"]


@pytest.mark.django_db
def test_a_task_called_as_a_function_neither_retries_nor_dead_letters():
    with pytest.raises(ConnectionRefusedError):
        fails(error="refused")
    assert not OutboxMessage.objects.exists() and not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_order_placed_during_an_smtp_outage_is_e_mailed_once_when_it_returns(
    org, product, member_client, monkeypatch, django_capture_on_commit_callbacks
):
    """The bug of issue 9: the outbox row was marked sent although the task then failed."""
    client, user = member_client(org, "member")

    def refused(*args, **kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refused)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/orders/", {"lines": [{"product": product.pk, "quantity": 1}]}
        )
    assert response.status_code == 201
    order_id = response.json()["id"]
    row = OutboxMessage.objects.get()
    # Published, the task failed (eager: inside the publish), parked: not marked sent.
    assert row.sent_at is None and row.retries == 1
    assert mail.outbox == [] and not TaskEffect.objects.exists()

    monkeypatch.undo()  # SMTP is back
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    assert relay_pending()["sent"] == 1
    assert [m.subject for m in mail.outbox] == [f"Order #{order_id} confirmed"]
    assert TaskEffect.objects.filter(key=confirmation_key(order_id)).count() == 1
    row.refresh_from_db()
    assert row.sent_at is not None
    assert relay_pending()["sent"] == 0 and len(mail.outbox) == 1
    assert user.email == mail.outbox[0].to[0]


@erp_task(name="tests.retry_policy.bounded", max_retries=2)
def bounded() -> None:
    attempts.append("try")
    raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")


@pytest.mark.django_db
def test_when_the_retry_cannot_be_parked_a_capped_broker_countdown_is_used(
    replay_retries, monkeypatch, caplog
):
    """The database is the failing component: the park fails, Celery's own retry takes over
    (eager: replayed at once), bounded like the parked path, countdown <= the 600 s cap."""
    from core.celery_app import retry

    class Broken:
        def park(self, *args, **kwargs):
            raise ConnectionError("database unreachable")

        def dead_letter(self, *args, **kwargs):
            attempts.append("dead-letter")

    monkeypatch.setattr(retry, "_store", Broken())
    result = bounded.apply(throw=False)
    assert result.failed() and isinstance(result.result, ConnectionRefusedError)
    assert attempts == ["try", "try", "try", "dead-letter"]  # 1 + max_retries=2, then given up
    lines = [r.getMessage() for r in caplog.records if "(broker countdown)" in r.getMessage()]
    assert len(lines) == 2 and all("next_attempt_at=" in line for line in lines)
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db
def test_periodic_tasks_are_neither_parked_nor_dead_lettered(monkeypatch):
    """Beat's next tick is their retry: a day of parked relays would pile up otherwise."""
    from core.outbox import tasks

    def refused(**kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "broker refused")

    monkeypatch.setattr(tasks, "relay_pending", refused)
    with pytest.raises(ConnectionRefusedError):
        tasks.relay_outbox.apply(throw=True)
    assert not OutboxMessage.objects.exists() and not DeadLetter.objects.exists()


@pytest.mark.django_db
def test_a_dead_letter_that_cannot_be_written_leaves_the_outbox_row_to_be_sent_again(
    monkeypatch, settings, caplog
):
    """Database down when the task gives up: the failure is not recorded anywhere but the log,
    so the row is not marked finished and the outbox sends the task again after the bound."""
    from django.db import OperationalError

    from core.celery_app import retry

    settings.OUTBOX_REDELIVER_AFTER = 600
    sent = timezone.now() - timedelta(seconds=601)
    written, unwritten = OutboxMessage.objects.bulk_create(
        OutboxMessage(task_name=fails.name, kwargs={"error": "bug"}, sent_at=sent) for _ in range(2)
    )
    for row in (written, unwritten):
        if row is unwritten:

            def broken(*args, **kwargs):
                raise OperationalError("the database is down")

            monkeypatch.setattr(retry.get_retry_store(), "dead_letter", broken)
        with pytest.raises(ValueError):
            fails.apply(
                kwargs={"error": "bug"}, task_id=str(row.pk), headers={OUTBOX_HEADER: "1"},
                throw=True,
            )  # fmt: skip
    assert list(DeadLetter.objects.values_list("task_id", flat=True)) == [str(written.pk)]
    assert OutboxMessage.objects.get(pk=written.pk).completed is True
    assert OutboxMessage.objects.get(pk=unwritten.pk).completed is False
    assert any("task.dead_letter_failed" in r.getMessage() for r in caplog.records)
    monkeypatch.undo()
    monkeypatch.setattr("core.outbox.services._publish", lambda message: None)
    assert relay_pending()["redelivered"] == 1  # the unwritten one only
    assert OutboxMessage.objects.get(pk=unwritten.pk).sent_at > sent

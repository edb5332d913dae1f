"""Order confirmations across a real SMTP outage: a real worker, a real beat (the outbox relay),
a private redis-server and a real SMTP server (``SmtpServer``) refusing connections, then
accepting them. Short retry window and backoff via the worker's environment.

Issue 9 measured 87 of 105 e-mails lost after a minute of SMTP failure; here every order placed
during the outage gets exactly one e-mail once SMTP is back, and past the retry window the work
is dead-lettered, then re-sent by ``retry_dead_tasks`` exactly once.
"""

import os
import time

import pytest
from django.core.management import call_command
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member, client_for
from core.celery_app.schedules import ensure_schedules
from core.celery_app.testing import SmtpServer, wait_for
from core.outbox.models import DeadLetter, OutboxMessage, TaskEffect

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("delivery"),
    pytest.mark.django_db(transaction=True),
]

# More for a measurement run (issue 9 lost 87 of 105): ERP_TEST_SMTP_OUTAGE_ORDERS=105.
ORDERS = int(os.environ.get("ERP_TEST_SMTP_OUTAGE_ORDERS", "12"))


@pytest.fixture
def smtp():
    server = SmtpServer()  # not started: connections are refused
    yield server
    server.stop()


def smtp_env(smtp: SmtpServer, **extra) -> dict:
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": smtp.host,
        "EMAIL_PORT": str(smtp.port),
        "EMAIL_TIMEOUT": "5",
        "CELERY_TASK_RETRY_BACKOFF": "0.5",
        "CELERY_TASK_RETRY_BACKOFF_MAX": "2",
        **extra,
    }


def relay_every_second() -> None:
    ensure_schedules()  # a previous transactional test may have flushed them
    every_second, _ = IntervalSchedule.objects.get_or_create(every=1, period="seconds")
    PeriodicTask.objects.filter(name="erp: outbox relay").update(interval=every_second)


def place_orders(n: int, *, pause: float = 0.0) -> tuple[list[int], object]:
    org = OrganizationFactory()
    product = ProductFactory(organization=org, stock=1000)
    api = client_for(add_member(org, "member"), org)
    ids = []
    for _ in range(n):
        response = api.post("/api/v1/orders/", {"lines": [{"product": product.pk, "quantity": 1}]})
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
        time.sleep(pause)
    return ids, org


def expected_subjects(ids) -> list[str]:
    return sorted(f"Order #{i} confirmed" for i in ids)


def settle(smtp: SmtpServer, seconds: float = 4.0) -> None:
    """Give a duplicate the time to arrive (relay ticks every second, backoff cap 2 s)."""
    time.sleep(seconds)


def test_every_order_placed_during_an_smtp_outage_gets_exactly_one_e_mail(
    start_worker, start_beat, smtp
):
    relay_every_second()
    worker = start_worker("smtp-outage", **smtp_env(smtp, CELERY_TASK_RETRY_WINDOW="600"))
    start_beat()
    outage_started = time.monotonic()
    ids, _ = place_orders(ORDERS, pause=0.2)

    # Every confirmation failed at least once (refused), none was lost or given up.
    def all_failed_once():
        worker.check_running()
        return OutboxMessage.objects.filter(retries__gte=1).count() >= ORDERS

    wait_for(all_failed_once, timeout=60, what="every confirmation to hit the refused SMTP")
    time.sleep(3)  # a few more refused retries each (backoff 0.5 s .. 2 s)
    outage = time.monotonic() - outage_started
    assert smtp.messages == [] and not TaskEffect.objects.exists()
    assert not DeadLetter.objects.exists()
    retried = OutboxMessage.objects.filter(retries__gte=2).count()

    smtp.start()  # SMTP is back
    wait_for(
        lambda: len(smtp.messages) >= ORDERS,
        timeout=60,
        what=f"{ORDERS} e-mails after SMTP came back",
    )
    settle(smtp)
    assert sorted(smtp.subjects()) == expected_subjects(ids)  # each exactly once
    assert TaskEffect.objects.filter(key__startswith="orders.confirmation_email:").count() == ORDERS
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()
    assert not DeadLetter.objects.exists()
    log = worker.log.read_text()
    assert "task.retry" in log and "next_attempt_at=" in log and "parked in the outbox" in log
    print(
        f"measured: {ORDERS} orders during a {outage:.1f}s SMTP outage -> "
        f"{len(smtp.messages)} e-mails, {len(smtp.messages) - len(set(smtp.subjects()))} doubled, "
        f"{retried} retried more than once"
    )


def test_past_the_window_work_is_dead_lettered_then_resent_exactly_once(
    start_worker, start_beat, smtp, capsys
):
    relay_every_second()
    worker = start_worker("smtp-dead", **smtp_env(smtp, CELERY_TASK_RETRY_WINDOW="2"))
    start_beat()
    ids, org = place_orders(3)

    def all_dead():
        worker.check_running()
        return DeadLetter.objects.count() >= len(ids)

    wait_for(all_dead, timeout=60, what="the confirmations to give up after the 2 s window")
    dead = list(DeadLetter.objects.order_by("id"))
    assert {d.kwargs["order_id"] for d in dead} == set(ids)
    assert all(d.transient and d.attempts >= 2 for d in dead)
    assert all(d.exception.startswith("ConnectionRefusedError") for d in dead)
    assert all(d.organization_id == org.pk for d in dead)
    assert not OutboxMessage.objects.filter(sent_at__isnull=True).exists()  # nothing pending
    assert "task.gave_up" in worker.log.read_text()

    smtp.start()
    settle(smtp, 2)
    assert smtp.messages == []  # dead letters wait for an operator

    first = dead[0]
    call_command("retry_dead_tasks", "--id", str(first.pk))
    assert f"re-sent {first.pk}:" in capsys.readouterr().out
    wait_for(lambda: smtp.messages, timeout=30, what="the re-sent e-mail")
    settle(smtp)
    assert smtp.subjects() == [f"Order #{first.kwargs['order_id']} confirmed"]

    call_command("retry_dead_tasks", "--all")
    out = capsys.readouterr().out
    assert "Re-sent 2 dead letter(s)" in out
    call_command("retry_dead_tasks", "--id", str(first.pk))  # again: once() holds
    wait_for(lambda: len(smtp.messages) >= len(ids), timeout=30, what="the other re-sent e-mails")
    settle(smtp)
    assert sorted(smtp.subjects()) == expected_subjects(ids)
    assert not DeadLetter.objects.filter(resent_at__isnull=True).exists()

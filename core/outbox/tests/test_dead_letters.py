"""Dead letters: recorded when a task gives up, reported everywhere, re-sent by
``manage.py retry_dead_tasks`` through the outbox with ``once()`` effects still exactly once."""

import errno

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from api.v1.sales.orders.tasks import confirmation_key, send_order_confirmation
from core.doctor import OK, WARN, Context
from core.doctor.checks import dead_letter_findings
from core.outbox.models import DeadLetter, OutboxMessage, TaskEffect
from core.testing.health import ready_with_details

URL = "/api/v1/orders/"


def dead_letter(task_id: str) -> DeadLetter:
    return DeadLetter.objects.create(
        task_name="tests.x", task_id=task_id, exception="ValueError: x", attempts=1,
        first_failed_at="2026-01-01T00:00Z", last_failed_at="2026-01-01T00:00Z",
    )  # fmt: skip


@pytest.fixture
def smtp_down(monkeypatch):
    def refused(*args, **kwargs):
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", refused)
    return monkeypatch


@pytest.fixture
def no_retry_window(settings):
    """CELERY_TASK_RETRY_WINDOW=0: the first transient failure already exhausts the window."""
    settings.CELERY_TASK_RETRY_WINDOW = 0


def place_orders(client, product, n, callbacks) -> list[int]:
    ids = []
    for _ in range(n):
        with callbacks(execute=True):
            response = client.post(URL, {"lines": [{"product": product.pk, "quantity": 1}]})
        assert response.status_code == 201, response.content
        ids.append(response.json()["id"])
    return ids


@pytest.fixture
def dead_orders(org, product, member_client, smtp_down, no_retry_window,
                django_capture_on_commit_callbacks):  # fmt: skip
    """``dead_orders(n)`` → order ids whose confirmation gave up while SMTP refused."""

    def make(n: int) -> list[int]:
        client, _ = member_client(org, "member")
        ids = place_orders(client, product, n, django_capture_on_commit_callbacks)
        smtp_down.undo()  # SMTP is back
        return ids

    return make


@pytest.mark.django_db
def test_window_exhausted_lands_in_the_dead_letter_table_and_resend_e_mails_once(
    dead_orders, org, capsys
):
    [order_id] = dead_orders(1)
    dead = DeadLetter.objects.get()
    assert dead.task_name == send_order_confirmation.name
    assert dead.kwargs == {"order_id": order_id, "organization_id": org.pk}
    assert dead.organization_id == org.pk and dead.transient and dead.attempts == 1
    assert dead.exception.startswith("ConnectionRefusedError") and dead.resent_at is None
    assert mail.outbox == [] and not TaskEffect.objects.exists()

    call_command("retry_dead_tasks", "--id", str(dead.pk))
    out = capsys.readouterr().out
    assert f"[1/1] re-sent {dead.pk}: {send_order_confirmation.name}" in out
    assert "published" in out and "Re-sent 1 dead letter(s): 1 published" in out
    assert [m.subject for m in mail.outbox] == [f"Order #{order_id} confirmed"]
    dead.refresh_from_db()
    assert dead.resent_at is not None and dead.resend_count == 1
    resent = OutboxMessage.objects.get(pk=dead.resent_message_id)
    assert resent.sent_at is not None and resent.task_name == dead.task_name
    assert resent.pk != dead.task_id  # a new task id, a new retry window

    # Re-sent once more (an operator's second try): the e-mail is not sent twice.
    call_command("retry_dead_tasks", "--id", str(dead.pk))
    assert "already re-sent" in capsys.readouterr().out
    assert len(mail.outbox) == 1
    assert TaskEffect.objects.filter(key=confirmation_key(order_id)).count() == 1


@pytest.mark.django_db
def test_resend_all_and_listing(dead_orders, capsys):
    ids = dead_orders(3)
    assert DeadLetter.objects.filter(resent_at__isnull=True).count() == 3
    call_command("retry_dead_tasks")  # lists, changes nothing
    out = capsys.readouterr().out
    assert "3 dead letter(s) not re-sent yet" in out and "--all" in out
    assert mail.outbox == []

    call_command("retry_dead_tasks", "--all")
    out = capsys.readouterr().out
    assert "[1/3]" in out and "[3/3]" in out and "Re-sent 3 dead letter(s)" in out
    assert sorted(m.subject for m in mail.outbox) == sorted(f"Order #{i} confirmed" for i in ids)
    assert not DeadLetter.objects.filter(resent_at__isnull=True).exists()
    call_command("retry_dead_tasks", "--all")
    assert "No dead letters to re-send" in capsys.readouterr().out
    assert len(mail.outbox) == 3


@pytest.mark.django_db
def test_resend_of_work_whose_first_attempt_succeeded_does_not_repeat_it(
    org, product, member_client, django_capture_on_commit_callbacks
):
    """The e-mail went out, then the task failed (e.g. the worker lost the DB at the end): the
    dead letter's re-send must not e-mail the customer a second time."""
    client, _ = member_client(org, "member")
    [order_id] = place_orders(client, product, 1, django_capture_on_commit_callbacks)
    assert len(mail.outbox) == 1
    kwargs = {"order_id": order_id, "organization_id": org.pk}
    dead = DeadLetter.objects.create(
        task_name=send_order_confirmation.name, task_id="after-the-effect", kwargs=kwargs,
        organization_id=org.pk, exception="OperationalError: server closed the connection",
        attempts=1, first_failed_at="2026-01-01T00:00Z", last_failed_at="2026-01-01T00:00Z",
    )  # fmt: skip
    call_command("retry_dead_tasks", "--id", str(dead.pk))
    assert len(mail.outbox) == 1
    dead.refresh_from_db()
    assert dead.resent_at is not None


@pytest.mark.django_db
def test_unknown_id_is_a_clear_error(dead_orders):
    [_] = dead_orders(1)
    known = DeadLetter.objects.get().pk
    with pytest.raises(
        CommandError, match=rf"No dead letter with id 987654\. Unresolved ids: {known}"
    ):
        call_command("retry_dead_tasks", "--id", "987654")
    with pytest.raises(CommandError):
        call_command("retry_dead_tasks", "--id", "1", "--all")  # one or the other
    assert mail.outbox == []


@pytest.mark.django_db
def test_dead_letters_show_in_health_metrics_doctor_and_celery_status(
    dead_orders, client, settings, capsys
):
    from core.outbox.health import dead_letters

    assert dead_letters()["count"] == 0
    assert [f.status for f in dead_letter_findings(Context(production=True))] == [OK]
    dead_orders(2)

    with pytest.raises(RuntimeError, match="2 dead-lettered task"):
        dead_letters()  # readiness: a non-critical component, "degraded"
    [finding] = dead_letter_findings(Context(production=True))
    assert finding.id == "celery.dead_letters" and finding.status == WARN
    assert "2 dead-lettered" in finding.message and "retry_dead_tasks --all" in finding.hint

    settings.METRICS_TOKEN = ""
    text = client.get("/metrics").content.decode()
    assert "erp_celery_dead_letters 2.0" in text
    assert "erp_outbox_parked_retries 0.0" in text

    call_command("celery_status")
    out = capsys.readouterr().out
    assert "dead letters" in out and "2 dead-lettered task(s)" in out

    call_command("retry_dead_tasks", "--all")
    assert dead_letters()["count"] == 0
    assert "erp_celery_dead_letters 0.0" in client.get("/metrics").content.decode()
    assert [f.status for f in dead_letter_findings(Context(production=True))] == [OK]


@pytest.mark.django_db(transaction=True)
def test_readiness_is_degraded_not_503_with_dead_letters(client, settings):
    settings.HEALTH_CHECK_TIMEOUT = 10
    dead_letter("t1")
    response = ready_with_details(client)
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    component = body["components"]["dead_letters"]
    assert component["status"] != "ok" and "retry_dead_tasks" in component["error"]


@pytest.mark.integration
@pytest.mark.django_db
def test_ops_celery_panel_shows_the_dead_letter_count(tmp_path, settings):
    from core.ops.panels import celery_panel
    from core.testing.redis import RedisServer

    server = RedisServer(tmp_path).start()
    settings.CELERY_BROKER_URL = server.url_for(3)
    try:
        items = {i["label"]: i for i in celery_panel()["items"]}
        assert items["dead letters"]["value"] == "0" and items["dead letters"]["status"] == OK
        dead_letter("t-ops")
        items = {i["label"]: i for i in celery_panel()["items"]}
        assert items["dead letters"]["value"].startswith("1 (oldest")
        assert "retry_dead_tasks" in items["dead letters"]["value"]
        assert items["dead letters"]["status"] == WARN
    finally:
        server.stop()


@pytest.mark.django_db
def test_admin_action_resends(dead_orders, client):
    from api.v1.base_models.user.tests.factories import UserFactory

    ids = dead_orders(2)
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    response = client.post(
        "/admin/outbox/deadletter/",
        {
            "action": "resend_selected",
            "_selected_action": list(DeadLetter.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    assert "Re-sent 2 dead letter(s): 2 published" in response.content.decode()
    assert sorted(m.subject for m in mail.outbox) == sorted(f"Order #{i} confirmed" for i in ids)
    assert client.get("/admin/outbox/deadletter/").status_code == 200

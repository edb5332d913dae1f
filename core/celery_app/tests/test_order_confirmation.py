import pytest
from celery.exceptions import Retry
from django.core import mail

from api.v1.sales.orders.tasks import confirmation_key, send_order_confirmation
from core.outbox.models import OutboxMessage, TaskEffect

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def place(client, product, quantity, callbacks):
    with callbacks(execute=True):
        return client.post(URL, {"lines": [{"product": product.pk, "quantity": quantity}]})


def test_placing_an_order_sends_one_confirmation(
    org, product, member_client, django_capture_on_commit_callbacks
):
    client, user = member_client(org, "member")
    response = place(client, product, 2, django_capture_on_commit_callbacks)
    assert response.status_code == 201
    order_id = response.json()["id"]
    message = OutboxMessage.objects.get()
    assert message.task_name == send_order_confirmation.name and message.sent_at is not None
    assert message.completed  # the task recorded that it finished: never sent again
    assert message.kwargs == {"order_id": order_id, "organization_id": org.pk}
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    assert f"Order #{order_id} confirmed" == mail.outbox[0].subject

    # The task delivered again (redelivery, relay replay): no second e-mail.
    assert send_order_confirmation.delay(order_id=order_id, organization_id=org.pk).get() is False
    assert len(mail.outbox) == 1
    assert TaskEffect.objects.filter(key=confirmation_key(order_id)).count() == 1


def test_refused_order_writes_no_outbox_message(
    org, product, member_client, django_capture_on_commit_callbacks
):
    client, _ = member_client(org, "member")
    response = place(client, product, product.stock + 1, django_capture_on_commit_callbacks)
    assert response.status_code == 409
    assert not OutboxMessage.objects.exists() and mail.outbox == []


def test_failed_send_is_retried_later_not_recorded(org, product, member_client, monkeypatch):
    client, _ = member_client(org, "member")
    order_id = client.post(URL, {"lines": [{"product": product.pk, "quantity": 1}]}).json()["id"]

    def broken(*args, **kwargs):
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("django.core.mail.EmailMessage.send", broken)
    with pytest.raises(Retry):  # parked for a later attempt (test_retry_policy.py)
        send_order_confirmation.apply(
            kwargs={"order_id": order_id, "organization_id": org.pk}, throw=True, retries=5
        )
    assert not TaskEffect.objects.exists()
    assert OutboxMessage.objects.filter(sent_at__isnull=True, retries__gt=0).count() == 1
    monkeypatch.undo()
    assert send_order_confirmation.delay(order_id=order_id, organization_id=org.pk).get()
    assert len(mail.outbox) == 1


def test_confirmation_for_another_organizations_order_does_nothing(
    org, other_org, foreign_product, member_client, django_capture_on_commit_callbacks
):
    client, _ = member_client(other_org, "member")
    order_id = place(client, foreign_product, 1, django_capture_on_commit_callbacks).json()["id"]
    mail.outbox.clear()
    assert send_order_confirmation.delay(order_id=order_id, organization_id=org.pk).get() is False
    assert mail.outbox == []

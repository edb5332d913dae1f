"""What is public (issue 12): /health/ready/ gives anyone the statuses; the details (latencies,
memory, keys, disk sizes, errors) need the METRICS_TOKEN bearer or a staff session."""

import pytest
from django.test import Client

from api.v1.base_models.user.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
READY = "/health/ready/"


def only_statuses(body) -> bool:
    return all(set(c) == {"status"} for c in body["components"].values())


def test_anonymous_gets_statuses_only(settings):
    settings.METRICS_TOKEN = "s3cret"
    body = Client().get(READY).json()
    assert body["status"] in {"ok", "degraded"}
    assert body["components"]["database"] == {"status": "ok"}
    assert only_statuses(body)
    # A wrong bearer, or a logged-in non-staff user, doesn't see more.
    assert only_statuses(Client().get(READY, HTTP_AUTHORIZATION="Bearer wrong").json())
    member = Client()
    member.force_login(UserFactory())
    assert only_statuses(member.get(READY).json())


def test_bearer_token_or_staff_session_sees_the_details(settings):
    settings.METRICS_TOKEN = "s3cret"
    body = Client().get(READY, HTTP_AUTHORIZATION="Bearer s3cret").json()
    assert "latency_ms" in body["components"]["database"]
    staff = Client()
    staff.force_login(UserFactory(is_staff=True))
    body = staff.get(READY).json()
    assert "latency_ms" in body["components"]["database"]
    assert len(body["components"]["storage"]) > 1  # status plus its details


def test_without_a_metrics_token_only_staff_sees_details(settings):
    settings.METRICS_TOKEN = ""
    assert only_statuses(Client().get(READY, HTTP_AUTHORIZATION="Bearer ").json())

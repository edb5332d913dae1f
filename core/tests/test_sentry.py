"""SENTRY_DSN turns on sentry-sdk with the Django and Celery integrations (issue 12, "Sentry").

In this process: a capturing transport (sentry-sdk's ``transport=``) sees a view's unhandled
error and an eager task's; ``core/celery_app/tests/test_sentry_worker.py`` sends from a real
worker process to a local HTTP endpoint."""

from __future__ import annotations

import pytest
import sentry_sdk
from django.test import Client
from sentry_sdk.transport import Transport

from core.sentry import init_sentry

pytestmark = pytest.mark.django_db


class CapturingTransport(Transport):
    def __init__(self, options=None):
        super().__init__(options)
        self.envelopes = []

    def capture_envelope(self, envelope):
        self.envelopes.append(envelope)

    def events(self):
        return [
            item.payload.json
            for envelope in self.envelopes
            for item in envelope.items
            if item.type == "event"
        ]


@pytest.fixture
def sentry():
    transport = CapturingTransport()
    init_sentry("http://public@127.0.0.1:9/1", environment="test", transport=transport)
    yield transport
    sentry_sdk.get_client().close()
    sentry_sdk.init()  # no DSN: off again for the rest of this process


def exception_values(event) -> list[str]:
    return [value["value"] for value in event["exception"]["values"]]


def test_an_error_in_a_view_is_captured_with_its_request_id(sentry, settings):
    settings.ROOT_URLCONF = "core.tests.error_urls"
    response = Client(raise_request_exception=False).get(
        "/api/v1/test-boom/", HTTP_X_REQUEST_ID="sentry-req-0001"
    )
    assert response.status_code == 500
    sentry_sdk.flush()
    (event,) = sentry.events()
    assert "relation secret_table does not exist" in exception_values(event)
    assert event["tags"]["request_id"] == "sentry-req-0001"
    assert event["transaction"] == "/api/v1/test-boom/"
    assert event["environment"] == "test"
    assert "django" in {i for i in event["sdk"]["integrations"]}


def test_an_error_in_a_task_is_captured(sentry):
    from core.celery_app.tests.tasks_for_tests import fail

    result = fail.apply(kwargs={"marker": "eager-42"}, throw=False)
    assert result.failed()
    sentry_sdk.flush()
    # (the worker's error log line may arrive as an event of its own, without an exception)
    events = [e for e in sentry.events() if "exception" in e]
    assert any("task failed on purpose: eager-42" in exception_values(e) for e in events), events
    assert all("celery" in e["sdk"]["integrations"] for e in events)


def test_no_dsn_no_sentry(settings):
    assert settings.SENTRY_DSN == ""
    assert sentry_sdk.get_client().dsn is None

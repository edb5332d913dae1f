"""The request id reaches the worker: a real worker process, LOG_FORMAT=json, logs the id of the
request that queued the task (through the outbox), one JSON object per line; the audit rows
the task writes carry it as well."""

from __future__ import annotations

import json

import pytest

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member, client_for
from core.audit.models import AuditRecord
from core.celery_app.testing import wait_for

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("celery"),
    pytest.mark.django_db(transaction=True),
]

REQUEST_ID = "client-trace-4242abcd"
ORDER_REQUEST_ID = "order-trace-77ef01"


def test_worker_logs_carry_the_request_id_of_the_request_that_queued_the_task(start_worker):
    worker = start_worker("reqid", LOG_FORMAT="json", LOG_LEVEL="INFO")
    org = OrganizationFactory()
    ProductFactory.create_batch(2, organization=org)
    api = client_for(add_member(org, "admin"), org)

    response = api.post(
        "/api/v1/exports/", {"kind": "products", "format": "csv"}, HTTP_X_REQUEST_ID=REQUEST_ID
    )
    assert response.status_code == 202, response.content
    assert response["X-Request-ID"] == REQUEST_ID
    export_id = response.json()["id"]
    wait_for(
        lambda: api.get(f"/api/v1/exports/{export_id}/").json()["status"] == "done",
        what="export to finish",
    )

    def task_lines():
        records = []
        for line in worker.log.read_text().splitlines():
            if line.startswith("{"):
                records.append(json.loads(line))
        return [r for r in records if r.get("request_id") == REQUEST_ID] or None

    lines = wait_for(task_lines, what="worker log lines with the request id")
    # The audit rows of what the task changed carry it too, with the system as actor.
    updates = AuditRecord.objects.filter(
        object_type="exports.export", object_id=str(export_id), action="update"
    )
    assert updates.exists()
    assert {(r.actor_id, r.request_id) for r in updates} == {(None, REQUEST_ID)}
    assert any("task.start" in r["message"] and "run_export" in r["message"] for r in lines), lines

    # A task a request queues through a domain event (order.placed -> the confirmation e-mail,
    # on its own queue) carries that request's id too.
    product = ProductFactory(organization=org)
    placed = api.post(
        "/api/v1/orders/",
        {"lines": [{"product": product.pk, "quantity": 1}]},
        format="json",
        HTTP_X_REQUEST_ID=ORDER_REQUEST_ID,
    )
    assert placed.status_code == 201, placed.content

    def confirmation_lines():
        records = [json.loads(x) for x in worker.log.read_text().splitlines() if x.startswith("{")]
        return [
            r
            for r in records
            if r.get("request_id") == ORDER_REQUEST_ID and "send_order_confirmation" in r["message"]
        ] or None

    assert wait_for(confirmation_lines, what="the confirmation task logged with the order's id")
    # Lines of the worker outside any task have no id.
    records = [json.loads(x) for x in worker.log.read_text().splitlines() if x.startswith("{")]
    assert any(r["request_id"] == "-" for r in records)
    # Every line after the start-up banner (printed, not logged; supervisord runs celery with
    # --quiet) is one JSON object.
    text = worker.log.read_text()
    after_banner = text[text.index("\n{") + 1 :].splitlines()
    assert all(json.loads(line) for line in after_banner if line.strip()), after_banner

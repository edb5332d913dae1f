"""How the actor and request id reach the trigger: a bound parameter of each statement (the SQL
text stays the same from request to request), and in tasks the id of the request that queued
them with the system as actor."""

from __future__ import annotations

import pytest
from django.db import connection
from psycopg import _queries  # psycopg's parsed-query cache (private; what the prefix must keep)

from api.v1.catalog.products.tests.factories import ProductFactory
from core.audit.context import StatementContext
from core.audit.models import AuditRecord
from core.requestid import reset_request_id, set_request_id

pytestmark = pytest.mark.django_db


def test_the_statement_text_does_not_change_with_the_request_id():
    seen = []

    def execute(sql, params, many, context):
        seen.append((sql, params))

    wrapper = StatementContext()
    for request_id in ("request-one-1", "request-two-2"):
        token = set_request_id(request_id)
        try:
            wrapper(execute, "UPDATE t SET a = %s", (1,), False, {})
            wrapper(execute, "UPDATE t SET a = %(a)s", {"a": 1}, False, {})
            wrapper(execute, "SAVEPOINT x", None, False, {})
        finally:
            reset_request_id(token)
    wrapper(execute, "UPDATE t SET a = %s", (1,), False, {})  # no request id, no actor
    assert seen[0] == ("/*audit:%s*/ UPDATE t SET a = %s", (",request-one-1", 1))
    assert seen[3] == ("/*audit:%s*/ UPDATE t SET a = %s", (",request-two-2", 1))
    assert seen[1][0] == seen[4][0] == "/*audit:%(_audit_context)s*/ UPDATE t SET a = %(a)s"
    assert seen[4][1] == {"a": 1, "_audit_context": ",request-two-2"}
    assert seen[5] == ("/*audit:',request-two-2'*/ SAVEPOINT x", None)
    assert seen[6] == ("UPDATE t SET a = %s", (1,))


def test_psycopg_parses_a_requests_statements_once_not_once_per_request(org, member_client):
    client, user = member_client(org, "admin")
    product = ProductFactory(organization=org)
    url = f"/api/v1/products/{product.pk}/"
    for i in range(2):  # warm: every statement of the PATCH parsed (and cached) once
        assert client.patch(url, {"name": f"w{i}"}, HTTP_X_REQUEST_ID=f"warm-up-{i}").status_code
    misses = _queries._query2pg_client.cache_info().misses
    for i in range(3):
        response = client.patch(url, {"name": f"n{i}"}, HTTP_X_REQUEST_ID=f"request-{i:04}")
        assert response.status_code == 200
    assert _queries._query2pg_client.cache_info().misses == misses
    last = AuditRecord.objects.filter(object_id=str(product.pk), action="update").first()
    assert (last.actor_id, last.request_id, last.changes["name"]) == (
        user.pk,
        "request-0002",
        ["n1", "n2"],
    )


def test_a_task_records_the_request_id_of_the_request_that_queued_it_and_no_actor(
    org, member_client, django_capture_on_commit_callbacks
):
    ProductFactory(organization=org)
    client, user = member_client(org, "admin")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/api/v1/exports/",
            {"kind": "products", "format": "csv"},
            HTTP_X_REQUEST_ID="export-request-7",
        )
    assert response.status_code == 202, response.content
    rows = list(
        AuditRecord.objects.filter(object_type="exports.export", object_id=response.json()["id"])
        .order_by("id")
        .values_list("action", "actor_id", "request_id")
    )
    assert rows[0] == ("create", user.pk, "export-request-7")  # the request
    assert len(rows) > 1  # the task's status updates
    assert set(rows[1:]) == {("update", None, "export-request-7")}
    assert connection.execute_wrappers == []  # nothing left on the connection


def test_a_task_outside_any_request_is_the_system(org):
    from core.audit.context import _task_postrun, _task_prerun

    _task_prerun()
    try:
        ProductFactory(organization=org)
    finally:
        _task_postrun()
    record = AuditRecord.objects.filter(object_type="products.product").last()
    assert (record.actor_id, record.request_id) == (None, None)
    assert connection.execute_wrappers == []

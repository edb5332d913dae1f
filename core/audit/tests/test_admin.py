"""The audit log's admin page: read-only, filters by organization/action/object type, search by
object id, one query for the page whatever the number of rows."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from api.v1.catalog.products.tests.factories import ProductFactory
from core.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:audit_auditrecord_changelist"


def _listed(admin_client, **query) -> str:
    response = admin_client.get(reverse(CHANGELIST), query)
    assert response.status_code == 200
    return response.content.decode()


def test_read_only(admin_client, org):
    ProductFactory(organization=org)
    record = AuditRecord.objects.get(object_type="products.product")
    assert admin_client.get(reverse("admin:audit_auditrecord_add")).status_code == 403
    change = reverse("admin:audit_auditrecord_change", args=[record.pk])
    page = admin_client.get(change)
    assert page.status_code == 200  # a view page, no form
    assert b'name="_save"' not in page.content
    assert admin_client.post(change, {"action": "delete"}).status_code == 403
    delete = reverse("admin:audit_auditrecord_delete", args=[record.pk])
    assert admin_client.post(delete, {"post": "yes"}).status_code == 403
    assert AuditRecord.objects.filter(pk=record.pk, action="create").exists()


def test_filters_and_search(admin_client, org, other_org):
    mine, theirs = ProductFactory(organization=org), ProductFactory(organization=other_org)
    mine.name = "renamed"
    mine.save()
    mine_id, theirs_id = (
        AuditRecord.objects.get(object_type="products.product", object_id=str(p.pk), action=a).pk
        for p, a in ((mine, "update"), (theirs, "create"))
    )

    def ids(**query) -> set[int]:
        changelist = admin_client.get(reverse(CHANGELIST), query).context["cl"]
        return {record.pk for record in changelist.result_list}

    assert {mine_id, theirs_id} <= ids()
    assert theirs_id not in ids(organization__id__exact=org.pk)
    assert mine_id in ids(organization__id__exact=org.pk)
    assert ids(action__exact="update", object_type="products.product") == {mine_id}
    assert mine_id not in ids(object_type="organizations.membership")
    assert ids(q=str(theirs.pk), object_type="products.product") == {theirs_id}
    assert "products.product" in _listed(admin_client)  # the object-type filter's choices


def test_changelist_queries_do_not_grow_with_rows(admin_client, org, member_client):
    client, user = member_client(org, "admin")  # records with an actor and an organization

    def add(n: int) -> None:
        for _ in range(n):
            sku = f"S-{AuditRecord.objects.count()}"
            response = client.post("/api/v1/products/", {"sku": sku, "name": "n", "price": "1"})
            assert response.status_code == 201, response.content

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            page = _listed(admin_client)
        assert user.username in page  # the actor column
        return len(queries)

    add(1)
    few = count()
    add(10)
    assert count() == few

"""What the audit triggers record: every path (API, admin, service, raw SQL, task), the actor
and request id, field-level changes, and nothing on rollback."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction

from api.v1.base_models.organization.models import Membership, Role
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.invoices.services import create_invoice, issue_invoice
from api.v1.sales.orders.services import LineRequest, place_order
from conftest import add_member
from core.audit.models import AuditRecord

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"


def records(**filters):
    return list(AuditRecord.objects.filter(**filters).order_by("id"))


def test_api_create_update_delete_record_actor_request_id_and_field_changes(org, member_client):
    client, user = member_client(org, "admin")
    before = AuditRecord.objects.count()
    response = client.post(
        PRODUCTS, {"sku": "A-1", "name": "Anvil", "price": "9.50"}, HTTP_X_REQUEST_ID="req-create-1"
    )
    assert response.status_code == 201, response.content
    assert response["X-Request-ID"] == "req-create-1"
    pk = response.json()["id"]
    (created,) = records(object_type="products.product", object_id=str(pk))
    assert (created.action, created.actor_id, created.organization_id) == (
        "create",
        user.pk,
        org.pk,
    )
    assert created.request_id == "req-create-1"
    assert created.changes["sku"] == [None, "A-1"] and created.changes["name"] == [None, "Anvil"]

    response = client.patch(f"{PRODUCTS}{pk}/", {"name": "Big anvil"})
    assert response.status_code == 200, response.content
    generated = response["X-Request-ID"]  # none given: the server made one
    assert len(generated) == 32
    update = records(object_type="products.product", object_id=str(pk), action="update")[-1]
    assert update.changes["name"] == ["Anvil", "Big anvil"]
    assert "sku" not in update.changes  # only what changed
    assert (update.actor_id, update.request_id) == (user.pk, generated)

    assert client.delete(f"{PRODUCTS}{pk}/").status_code == 204
    deleted = records(object_type="products.product", object_id=str(pk), action="delete")
    assert len(deleted) == 1 and deleted[0].changes["name"] == ["Big anvil", None]
    assert AuditRecord.objects.count() - before == 3


def test_a_forged_or_odd_request_id_is_replaced(org, member_client):
    client, _ = member_client(org, "admin")
    response = client.post(
        PRODUCTS,
        {"sku": "A-2", "name": "x", "price": "1"},
        HTTP_X_REQUEST_ID="*/ DROP TABLE x; /*",
    )
    assert response.status_code == 201
    assert response["X-Request-ID"] != "*/ DROP TABLE x; /*"
    (record,) = records(object_type="products.product", object_id=str(response.json()["id"]))
    assert record.request_id == response["X-Request-ID"]


def test_order_placement_records_the_raw_sql_stock_take_and_the_numbered_order(org):
    user = add_member(org, "member")
    products = [ProductFactory(organization=org, stock=10, price=Decimal("2")) for _ in range(2)]
    order = place_order(
        organization_id=org.pk,
        user_id=user.pk,
        lines=[LineRequest(products[0].pk, 3), LineRequest(products[1].pk, 1)],
        metadata={},
    )
    stock = {
        r.object_id: r.changes["stock"]
        for r in records(object_type="products.product", action="update")
    }
    assert stock == {str(products[0].pk): [10, 7], str(products[1].pk): [10, 9]}
    (created,) = records(object_type="orders.order", object_id=str(order.pk))
    assert created.action == "create" and created.organization_id == org.pk
    assert created.changes["number"] == [None, order.number]  # taken by the INSERT's SQL
    assert created.actor_id is None and created.request_id is None  # a service: the system
    assert not records(object_type="orders.ordernumbercounter")  # opted out (audit_log = False)


def test_invoice_transitions_are_recorded(org):
    product = ProductFactory(organization=org, stock=5)
    order = place_order(
        organization_id=org.pk, user_id=None, lines=[LineRequest(product.pk, 1)], metadata={}
    )
    invoice = create_invoice(organization_id=org.pk, order_id=order.pk)
    issue_invoice(organization_id=org.pk, invoice_id=invoice.pk)
    history = records(object_type="invoices.invoice", object_id=str(invoice.pk))
    assert [r.action for r in history] == ["create", "update"]
    assert history[1].changes["status"] == ["draft", "issued"]
    assert history[1].changes["number"] == [None, 1]


def test_memberships_and_roles_are_recorded(org):
    user = add_member(org, "member")
    membership = Membership.objects.get(user=user, organization=org)
    membership.role = Role.objects.get(name="admin")
    membership.save()
    history = records(object_type="organizations.membership", object_id=str(membership.pk))
    assert [r.action for r in history] == ["create", "update"]
    assert history[1].organization_id == org.pk
    assert history[1].changes["role_id"] == [  # columns; the API says "role"
        Role.objects.get(name="member").pk,
        Role.objects.get(name="admin").pk,
    ]
    role = Role.objects.get(name="viewer")
    role.description = "Reads things"
    role.save()
    (changed,) = records(object_type="organizations.role", object_id=str(role.pk))
    assert changed.organization_id is None  # global rows: no organization
    membership.delete()
    assert records(object_type="organizations.membership", action="delete")


def test_queryset_update_and_raw_sql_are_recorded_noop_updates_are_not(org, product):
    Product.objects.filter(pk=product.pk).update(name="Bulk renamed")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE products_product SET stock = stock + 1 WHERE id = %s", [product.pk])
        cursor.execute("UPDATE products_product SET stock = stock WHERE id = %s", [product.pk])
    history = records(object_type="products.product", object_id=str(product.pk), action="update")
    assert history[0].changes == {"name": [product.name, "Bulk renamed"]}
    assert history[1].changes == {"stock": [product.stock, product.stock + 1]}
    assert len(history) == 2  # the UPDATE that changed nothing left no record


def test_a_rollback_leaves_no_record(org, product):
    before = AuditRecord.objects.count()
    with pytest.raises(RuntimeError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(name="never")
        ProductFactory(organization=org)
        assert AuditRecord.objects.count() == before + 2  # written in the transaction...
        raise RuntimeError
    assert AuditRecord.objects.count() == before  # ...and gone with it


def test_admin_changes_record_the_staff_user(client, org, product, django_user_model):
    staff = django_user_model.objects.create_superuser(
        username="root", email="root@example.com", password="pw"
    )
    client.force_login(staff)
    url = f"/admin/organizations/organization/{org.pk}/change/"
    response = client.post(url, {"name": "Acme Renamed", "slug": org.slug})
    assert response.status_code == 302, response.content[:2000]
    (record,) = records(object_type="organizations.organization", action="update")
    assert record.actor_id == staff.pk and record.organization_id == org.pk
    assert record.changes["name"] == ["Acme", "Acme Renamed"]
    assert record.request_id


def test_audit_log_enabled_false_drops_the_triggers_and_migrate_puts_them_back(
    org, product, settings
):
    from core.audit.triggers import install_triggers_after_migrate

    try:
        settings.AUDIT_LOG_ENABLED = False
        install_triggers_after_migrate()
        Product.objects.filter(pk=product.pk).update(name="unrecorded")
        assert not records(object_type="products.product", action="update")
    finally:
        settings.AUDIT_LOG_ENABLED = True
        install_triggers_after_migrate()
    Product.objects.filter(pk=product.pk).update(name="recorded")
    (update,) = records(object_type="products.product", action="update")
    assert update.changes == {"name": ["unrecorded", "recorded"]}

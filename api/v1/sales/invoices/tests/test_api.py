"""The invoices API: create from an order, issue / pay / void, lists, permissions, tenancy."""

from __future__ import annotations

import csv
import io
import json

import pytest
from django.core import mail

from api.v1.files.tests import samples
from api.v1.files.tests.conftest import upload
from api.v1.sales.invoices.models import Invoice, InvoiceStatus
from api.v1.sales.invoices.tasks import send_invoice_email
from api.v1.sales.orders.models import Order, OrderStatus

from .conftest import URL, action, place

pytestmark = pytest.mark.django_db

FIELDS = {"id", "number", "order", "status", "lines", "total", "issued_at", "paid_at", "created_at"}


@pytest.fixture
def admin(org, member_client):
    return member_client(org, "admin")[0]


def create(client, order_id):
    return client.post(URL, {"order": order_id}, format="json")


class TestCreate:
    def test_draft_with_the_orders_lines_and_total(self, admin, order):
        response = create(admin, order.pk)
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == FIELDS
        assert body["status"] == "draft" and body["number"] is None
        assert body["order"] == order.pk and body["total"] == "7.50"
        assert body["issued_at"] is None and body["paid_at"] is None
        assert body["lines"] == [
            {"product": line.product_id, "quantity": line.quantity, "unit_price": "2.50"}
            for line in Order.objects.get(pk=order.pk).lines.order_by("id")
        ]
        assert admin.get(f"{URL}{body['id']}/").json() == body

    def test_cancelled_order_is_409(self, admin, org):
        order = place(org, 1)
        admin.post(f"/api/v1/orders/{order.pk}/cancel/")
        response = create(admin, order.pk)
        assert response.status_code == 409 and response.json()["code"] == "order_cancelled"
        assert not Invoice.objects.exists()

    def test_second_live_invoice_is_409_until_the_first_is_void(self, admin, order):
        first = create(admin, order.pk).json()["id"]
        response = create(admin, order.pk)
        assert response.status_code == 409
        assert response.json()["code"] == "already_invoiced"
        assert response.json()["invoice"] == first
        action(admin, first, "issue")
        assert create(admin, order.pk).status_code == 409
        assert action(admin, first, "void").status_code == 200
        assert create(admin, order.pk).status_code == 201
        assert Invoice.objects.filter(order=order).count() == 2

    @pytest.mark.parametrize("body", [{}, {"order": "abc"}, {"order": 0}, {"order": None}])
    def test_bad_payload_is_400_naming_order(self, admin, body):
        response = admin.post(URL, body, format="json")
        assert response.status_code == 400 and "order" in response.json()

    def test_order_of_another_organization_or_unknown_is_400(self, admin, foreign_order):
        for order_id in (foreign_order.pk, foreign_order.pk + 1000):
            response = create(admin, order_id)
            assert response.status_code == 400 and "order" in response.json()
        assert not Invoice.objects.exists()


class TestTransitions:
    def test_issue_numbers_gap_free_and_sets_issued_at(self, admin, org):
        ids = [create(admin, place(org, 1).pk).json()["id"] for _ in range(3)]
        numbers = []
        for invoice_id in ids:
            response = action(admin, invoice_id, "issue")
            assert response.status_code == 200, response.content
            assert response.json()["status"] == "issued" and response.json()["issued_at"]
            numbers.append(response.json()["number"])
        assert numbers == [1, 2, 3]

    def test_numbers_are_per_organization(
        self, admin, org, other_org, member_client, foreign_order
    ):
        foreign_admin = member_client(other_org, "admin")[0]
        foreign = create(foreign_admin, foreign_order.pk).json()["id"]
        mine = create(admin, place(org, 1).pk).json()["id"]
        assert action(admin, mine, "issue").json()["number"] == 1
        assert action(foreign_admin, foreign, "issue").json()["number"] == 1

    def test_repeating_the_current_transition_is_200_and_changes_nothing(self, admin, order):
        invoice_id = create(admin, order.pk).json()["id"]
        issued = action(admin, invoice_id, "issue").json()
        assert action(admin, invoice_id, "issue").json() == issued
        paid = action(admin, invoice_id, "pay").json()
        assert paid["status"] == "paid" and paid["paid_at"]
        assert action(admin, invoice_id, "pay").json() == paid

    @pytest.mark.parametrize(
        "path, transition",
        [
            ([], "pay"),  # draft can't be paid
            (["issue", "pay"], "void"),  # paid can't be voided
            (["issue", "pay"], "issue"),
            (["void"], "issue"),
            (["void"], "pay"),
            (["issue", "void"], "pay"),
        ],
    )
    def test_illegal_transition_is_409_invalid_transition(self, admin, order, path, transition):
        invoice_id = create(admin, order.pk).json()["id"]
        for step in path:
            assert action(admin, invoice_id, step).status_code == 200
        before = Invoice.objects.values().get(pk=invoice_id)
        response = action(admin, invoice_id, transition)
        assert response.status_code == 409, response.content
        assert response.json()["code"] == "invalid_transition"
        assert Invoice.objects.values().get(pk=invoice_id) == before

    def test_void_from_draft_and_from_issued_keeps_the_number(self, admin, org):
        draft = create(admin, place(org, 1).pk).json()["id"]
        assert action(admin, draft, "void").json() | {} == {
            **action(admin, draft, "void").json(),
            "status": "void",
            "number": None,
        }
        issued = create(admin, place(org, 1).pk).json()["id"]
        number = action(admin, issued, "issue").json()["number"]
        voided = action(admin, issued, "void").json()
        assert voided["status"] == "void" and voided["number"] == number
        # the next issued invoice continues after the voided one: no number is reused
        later = create(admin, place(org, 1).pk).json()["id"]
        assert action(admin, later, "issue").json()["number"] == number + 1

    def test_issuing_sends_the_invoice_email_exactly_once(
        self, org, member_client, django_capture_on_commit_callbacks
    ):
        admin, user = member_client(org, "admin")
        user.email = "buyer@example.com"
        user.save()
        invoice_id = create(admin, place(org, 3, user=user).pk).json()["id"]
        mail.outbox.clear()  # the order confirmation
        with django_capture_on_commit_callbacks(execute=True):
            number = action(admin, invoice_id, "issue").json()["number"]
        with django_capture_on_commit_callbacks(execute=True):
            action(admin, invoice_id, "issue")  # repeated: no new event
        assert [m.to for m in mail.outbox] == [["buyer@example.com"]]
        assert f"Invoice {number}" in mail.outbox[0].subject
        # a redelivered task (at-least-once) sends nothing more
        assert send_invoice_email(invoice_id=invoice_id, organization_id=org.pk) is False
        assert len(mail.outbox) == 1


class TestOrderLink:
    def test_cancelling_an_order_with_a_live_invoice_is_409_and_changes_nothing(self, admin, order):
        order = Order.objects.get(pk=order.pk)
        stock = {line.product_id: line.product.stock for line in order.lines.all()}
        invoice_id = create(admin, order.pk).json()["id"]
        for step in (None, "issue"):
            if step:
                action(admin, invoice_id, step)
            response = admin.post(f"/api/v1/orders/{order.pk}/cancel/")
            assert response.status_code == 409, response.content
            assert response.json()["code"] == "order_invoiced"
            order.refresh_from_db()
            assert order.status == OrderStatus.PLACED
            for line in order.lines.select_related("product"):
                assert line.product.stock == stock[line.product_id]
        action(admin, invoice_id, "void")
        assert admin.post(f"/api/v1/orders/{order.pk}/cancel/").status_code == 200
        assert Order.objects.get(pk=order.pk).status == OrderStatus.CANCELLED


class TestListsPermissionsTenancy:
    def test_list_and_status_filter(self, admin, org):
        ids = [create(admin, place(org, 1).pk).json()["id"] for _ in range(3)]
        action(admin, ids[1], "issue")
        assert [i["id"] for i in admin.get(URL).json()["results"]] == ids
        assert [i["id"] for i in admin.get(URL, {"status": "issued"}).json()["results"]] == [ids[1]]
        assert admin.get(URL, {"status": "draft"}).json()["count"] == 2
        response = admin.get(URL, {"status": "sent"})
        assert response.status_code == 400 and "status" in response.json()
        ordered = admin.get(URL, {"ordering": "-id"}).json()["results"]
        assert [i["id"] for i in ordered] == ids[::-1]

    @pytest.mark.parametrize(
        "role, create_status, transition_status",
        [("viewer", 403, 403), ("member", 201, 403), ("admin", 201, 200), ("owner", 201, 200)],
    )
    def test_role_matrix(self, org, member_client, admin, role, create_status, transition_status):
        client, _ = member_client(org, role)
        assert client.get(URL).status_code == 200
        assert create(client, place(org, 1).pk).status_code == create_status
        for transition in ("issue", "pay", "void"):
            invoice_id = create(admin, place(org, 1).pk).json()["id"]
            if transition == "pay":
                action(admin, invoice_id, "issue")
            assert action(client, invoice_id, transition).status_code == transition_status

    def test_other_organizations_invoices_are_404_and_never_listed(
        self, admin, other_org, member_client, foreign_order, order
    ):
        foreign_admin = member_client(other_org, "admin")[0]
        foreign = create(foreign_admin, foreign_order.pk).json()["id"]
        create(admin, order.pk)
        assert admin.get(f"{URL}{foreign}/").status_code == 404
        for transition in ("issue", "pay", "void"):
            assert action(admin, foreign, transition).status_code == 404
        assert foreign not in {i["id"] for i in admin.get(URL).json()["results"]}
        assert Invoice.objects.get(pk=foreign).status == InvoiceStatus.DRAFT

    def test_no_write_methods_on_the_resource(self, admin, order):
        invoice_id = create(admin, order.pk).json()["id"]
        for method in ("put", "patch", "delete"):
            assert getattr(admin, method)(f"{URL}{invoice_id}/").status_code == 405


class TestPlatformFeatures:
    def test_invoices_export_has_the_api_columns_without_lines(
        self, admin, org, order, django_capture_on_commit_callbacks
    ):
        invoice_id = create(admin, order.pk).json()["id"]
        with django_capture_on_commit_callbacks(execute=True):
            created = admin.post("/api/v1/exports/", {"kind": "invoices", "format": "csv"})
        assert created.status_code == 202, created.content
        export = admin.get(f"/api/v1/exports/{created.json()['id']}/").json()
        assert export["status"] == "done" and export["row_count"] == 1
        rows = list(
            csv.reader(
                io.StringIO(b"".join(admin.get(export["download_url"]).streaming_content).decode())
            )
        )
        assert rows[0] == [f for f in admin.get(f"{URL}{invoice_id}/").json() if f != "lines"]
        assert int(rows[1][0]) == invoice_id and rows[1][rows[0].index("status")] == "draft"

    def test_files_attach_to_an_invoice_of_the_organization(
        self, admin, org, order, foreign_order, other_org, member_client
    ):
        invoice_id = create(admin, order.pk).json()["id"]
        attach = json.dumps({"type": "invoices.invoice", "id": invoice_id})
        response = upload(admin, "invoice.pdf", samples.pdf(), attach_to=attach)
        assert response.status_code == 201, response.content
        assert response.json()["attached_to"] == {"type": "invoices.invoice", "id": invoice_id}
        foreign_admin = member_client(other_org, "admin")[0]
        foreign = create(foreign_admin, foreign_order.pk).json()["id"]
        attach = json.dumps({"type": "invoices.invoice", "id": foreign})
        response = upload(admin, "x.pdf", samples.pdf(), attach_to=attach)
        assert response.status_code == 400 and "attach_to" in response.json()

    def test_demo_data_is_idempotent(self, db):
        from django.core.management import call_command

        call_command("seed_demo")
        statuses = sorted(Invoice.objects.values_list("status", flat=True))
        call_command("seed_demo")
        assert sorted(Invoice.objects.values_list("status", flat=True)) == statuses
        assert statuses == ["draft", "draft", "issued", "issued"]

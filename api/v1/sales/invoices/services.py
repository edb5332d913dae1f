"""Every write to invoices: create from an order, issue, pay, void (one transaction each).

The status machine::

    draft --issue--> issued --pay--> paid
      |                |
      +-----void-------+----> void

Repeating the transition an invoice is already in (issuing an issued invoice, ...) answers the
invoice unchanged; any other move is refused with 409 ``invalid_transition``.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from api.v1.sales.orders.models import Order, OrderStatus
from core.api.exceptions import DomainError
from core.events import raise_event

from .models import Invoice, InvoiceLine, InvoiceStatus
from .numbering import next_invoice_number

__all__ = ["create_invoice", "issue_invoice", "live_invoice", "pay_invoice", "void_invoice"]

# transition -> (statuses it may start from, status it ends in)
TRANSITIONS: dict[str, tuple[frozenset[str], str]] = {
    "issue": (frozenset({InvoiceStatus.DRAFT}), InvoiceStatus.ISSUED),
    "pay": (frozenset({InvoiceStatus.ISSUED}), InvoiceStatus.PAID),
    "void": (frozenset({InvoiceStatus.DRAFT, InvoiceStatus.ISSUED}), InvoiceStatus.VOID),
}


_DONE = {"issue": "issued", "pay": "paid", "void": "voided"}


def invalid_transition(invoice: Invoice, transition: str) -> DomainError:
    allowed = ", ".join(sorted(TRANSITIONS[transition][0]))
    return DomainError(
        {
            "code": "invalid_transition",
            "detail": f"A {invoice.status} invoice can't be {_DONE[transition]} "
            f"(only from: {allowed}).",
            "status": invoice.status,
            "transition": transition,
        }
    )


def live_invoice(order_id: int) -> Invoice | None:
    """The order's live (non-void) invoice, if any: at most one exists per order."""
    return Invoice.objects.filter(order_id=order_id).exclude(status=InvoiceStatus.VOID).first()


@transaction.atomic
def create_invoice(*, organization_id: int, order_id: int) -> Invoice:
    """A draft invoice for the order, with the order's lines and total.

    400 when the order isn't one of the organization's; 409 when it is cancelled or already has
    a live (non-void) invoice. The order row is locked, so this serializes with cancelling it.
    """
    order = (
        Order.objects.select_for_update()
        .filter(organization_id=organization_id, pk=order_id)
        .first()
    )
    if order is None:
        raise exceptions.ValidationError(
            {"order": [f'Invalid pk "{order_id}" - object does not exist.']}
        )
    if order.status == OrderStatus.CANCELLED:
        raise DomainError(
            {"code": "order_cancelled", "detail": "A cancelled order can't be invoiced."}
        )
    live = live_invoice(order.pk)
    if live is not None:
        raise DomainError(
            {
                "code": "already_invoiced",
                "detail": f"Order {order.pk} already has invoice {live.pk} ({live.status}).",
                "invoice": live.pk,
            }
        )
    invoice = Invoice.objects.create(
        organization_id=organization_id, order=order, total=order.total
    )
    invoice._prefetched_objects_cache = {
        "lines": InvoiceLine.objects.bulk_create(
            InvoiceLine(
                invoice=invoice,
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price=line.unit_price,
            )
            for line in order.lines.order_by("id")
        )
    }
    return invoice


def _transition(
    organization_id: int, invoice_id: int, transition: str, **changes
) -> tuple[Invoice, bool]:
    """Move the (locked) invoice along ``transition`` setting ``changes``; (invoice, moved)."""
    invoice = Invoice.objects.select_for_update().get(
        organization_id=organization_id, pk=invoice_id
    )
    sources, target = TRANSITIONS[transition]
    if invoice.status == target:
        return invoice, False  # repeated: nothing changes
    if invoice.status not in sources:
        raise invalid_transition(invoice, transition)
    if transition == "issue":
        # Taken last, just before the commit: the counter row's lock is held only briefly.
        changes["number"] = next_invoice_number(organization_id)
    for field, value in changes.items():
        setattr(invoice, field, value)
    invoice.status = target
    invoice.save(update_fields=[*changes, "status", "updated_at"])
    return invoice, True


@transaction.atomic
def issue_invoice(*, organization_id: int, invoice_id: int) -> Invoice:
    """Number the invoice (the organization's next number) and raise ``invoice.issued``."""
    invoice, moved = _transition(organization_id, invoice_id, "issue", issued_at=timezone.now())
    if moved:
        raise_event("invoice.issued", organization_id=organization_id, invoice_id=invoice.pk)
    return invoice


@transaction.atomic
def pay_invoice(*, organization_id: int, invoice_id: int) -> Invoice:
    return _transition(organization_id, invoice_id, "pay", paid_at=timezone.now())[0]


@transaction.atomic
def void_invoice(*, organization_id: int, invoice_id: int) -> Invoice:
    """Void a draft or issued invoice; it keeps its number, and the order may be invoiced anew."""
    return _transition(organization_id, invoice_id, "void")[0]

"""Invoice tasks: the invoice e-mail, sent exactly once per issued invoice (``invoice.issued``)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from core.celery_app.base import ErpTask, erp_task
from core.outbox.effects import once

from .models import Invoice

logger = logging.getLogger("api.v1.sales.invoices")


def invoice_email_key(invoice_id: int) -> str:
    return f"invoices.invoice_email:{invoice_id}"


class InvoiceTask(ErpTask):
    organization_scoped = True


@erp_task(base=InvoiceTask, name="api.v1.sales.invoices.tasks.send_invoice_email")
def send_invoice_email(*, invoice_id: int, organization_id: int) -> bool:
    """E-mail the invoice to whoever placed its order; True if sent now."""
    invoice = (
        Invoice.objects.restrict().select_related("order__created_by").filter(pk=invoice_id).first()
    )
    recipient = invoice and invoice.order.created_by
    if recipient is None or not recipient.email:
        logger.info("invoice.email_skipped invoice=%s org=%s", invoice_id, organization_id)
        return False
    with once(invoice_email_key(invoice_id), organization_id=organization_id) as first:
        if not first:
            return False
        lines = [
            f"{line.quantity} x product {line.product_id} at {line.unit_price}"
            for line in invoice.lines.order_by("id")
        ]
        EmailMessage(
            subject=f"Invoice {invoice.number} for order #{invoice.order_id}",
            body="\n".join(
                [
                    f"Invoice {invoice.number} (order #{invoice.order_id}).",
                    "",
                    *lines,
                    "",
                    f"Total due: {invoice.total}",
                ]
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[recipient.email],
        ).send()
    return True

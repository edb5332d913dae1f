"""Order tasks: the confirmation e-mail, sent exactly once per order (on ``order.placed``)."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMessage

from core.celery_app.base import ErpTask, erp_task
from core.outbox.effects import once

from .models import Order

logger = logging.getLogger("api.v1.sales.orders")


def confirmation_key(order_id: int) -> str:
    return f"orders.confirmation_email:{order_id}"


class OrderTask(ErpTask):
    organization_scoped = True


@erp_task(base=OrderTask, name="api.v1.sales.orders.tasks.send_order_confirmation")
def send_order_confirmation(*, order_id: int, organization_id: int) -> bool:
    """E-mail the order's creator; True if sent now, False if already sent or nobody to tell."""
    order = (
        # restrict(): the organization this task runs in (ErpTask set it from organization_id).
        Order.objects.restrict().select_related("created_by").filter(pk=order_id).first()
    )
    if order is None or order.created_by is None or not order.created_by.email:
        logger.info("order.confirmation_skipped order=%s org=%s", order_id, organization_id)
        return False
    with once(confirmation_key(order_id), organization_id=organization_id) as first:
        if not first:
            return False
        lines = order.lines.order_by("id")
        body = "\n".join(
            [
                f"Thank you for your order #{order.pk}.",
                "",
                *(
                    f"{line.quantity} x product {line.product_id} at {line.unit_price}"
                    for line in lines
                ),
                "",
                f"Total: {order.total}",
            ]
        )
        EmailMessage(
            subject=f"Order #{order.pk} confirmed",
            body=body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[order.created_by.email],
        ).send()
    return True

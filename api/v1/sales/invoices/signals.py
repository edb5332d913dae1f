"""The order link: an order with a live invoice can't be cancelled (void the invoice first).

A ``pre_save`` receiver on orders, so the orders module needs to know nothing about invoices:
``cancel_order`` saves the order inside its transaction, the refusal rolls all of it back
(including the stock it was putting back) and answers 409.
"""

from __future__ import annotations

from api.v1.sales.orders.models import OrderStatus
from core.api.exceptions import DomainError

from .services import live_invoice


def refuse_cancelling_an_invoiced_order(sender, instance, update_fields=None, **kwargs):
    if instance.pk is None or instance.status != OrderStatus.CANCELLED:
        return
    live = live_invoice(instance.pk)
    if live is not None:
        raise DomainError(
            {
                "code": "order_invoiced",
                "detail": f"Order {instance.pk} has invoice {live.pk} ({live.status}): "
                "void the invoice before cancelling the order.",
                "invoice": live.pk,
            }
        )

"""Placing and cancelling orders: one transaction each, stock moves with the order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone
from rest_framework import exceptions

from api.v1.catalog.products.models import Product
from core.api.exceptions import DomainError
from core.events import raise_event

from .locks import lock_products
from .models import Order, OrderLine, OrderStatus
from .numbering import next_order_number


class InsufficientStock(DomainError):
    status_code = 409


@dataclass(frozen=True)
class LineRequest:
    product_id: int
    quantity: int


@transaction.atomic
def place_order(
    *, organization_id: int, user_id: int | None, lines: list[LineRequest], metadata: dict
) -> Order:
    """Lock the products (pk order), check and take stock, store the order with unit prices.

    Raises 400 for a product that is not in the organization and 409 for a line that asks more
    than is in stock; either way nothing is written.
    """
    products = lock_products(organization_id, (line.product_id for line in lines))
    missing = [
        {"product": [f'Invalid pk "{line.product_id}" - object does not exist.']}
        if line.product_id not in products
        else {}
        for line in lines
    ]
    if any(missing):
        raise exceptions.ValidationError({"lines": missing})

    wanted = Counter()
    for line in lines:
        wanted[line.product_id] += line.quantity
    for index, line in enumerate(lines):
        product = products[line.product_id]
        if wanted[line.product_id] > product.stock:
            raise InsufficientStock(
                {
                    "code": "insufficient_stock",
                    "detail": f"Insufficient stock for line {index} (product {product.pk}): "
                    f"requested {wanted[line.product_id]}, available {product.stock}.",
                    "line": index,
                    "product": product.pk,
                    "requested": wanted[line.product_id],
                    "available": product.stock,
                }
            )

    now = timezone.now()
    for product_id, quantity in wanted.items():
        products[product_id].stock -= quantity
        products[product_id].updated_at = now
    Product.objects.bulk_update(products.values(), ["stock", "updated_at"])

    total = sum((products[line.product_id].price * line.quantity for line in lines), Decimal("0"))
    order = Order.objects.create(
        organization_id=organization_id,
        number=next_order_number(organization_id),
        created_by_id=user_id,
        total=total,
        metadata=metadata,
    )
    order._prefetched_objects_cache = {
        "lines": OrderLine.objects.bulk_create(
            OrderLine(
                order=order,
                product_id=line.product_id,
                quantity=line.quantity,
                unit_price=products[line.product_id].price,
            )
            for line in lines
        )
    }
    # Subscribers' tasks are written to the outbox in this transaction (published on commit).
    raise_event("order.placed", organization_id=organization_id, order_id=order.pk)
    return order


@transaction.atomic
def cancel_order(*, organization_id: int, order_id: int) -> Order:
    """Put the stock back exactly once; cancelling a cancelled order changes nothing."""
    order = Order.objects.select_for_update().get(organization_id=organization_id, pk=order_id)
    if order.status == OrderStatus.CANCELLED:
        return order
    lines = list(order.lines.all())
    returned = Counter()
    for line in lines:
        returned[line.product_id] += line.quantity
    products = lock_products(organization_id, returned)
    now = timezone.now()
    for product_id, quantity in returned.items():
        products[product_id].stock += quantity
        products[product_id].updated_at = now
    Product.objects.bulk_update(products.values(), ["stock", "updated_at"])
    order.status = OrderStatus.CANCELLED
    order.save(update_fields=["status", "updated_at"])
    order._prefetched_objects_cache = {"lines": lines}
    raise_event("order.cancelled", organization_id=organization_id, order_id=order.pk)
    return order

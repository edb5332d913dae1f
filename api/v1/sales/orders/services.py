"""Placing and cancelling orders: one transaction each, stock moves with the order."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone
from rest_framework import exceptions

from api.v1.catalog.products.models import Product
from core.api.exceptions import DomainError
from core.events import raise_event

from .locks import lock_products, take_stock
from .models import Order, OrderLine, OrderStatus
from .numbering import next_order_number_on_insert


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
    wanted = Counter()
    for line in lines:
        wanted[line.product_id] += line.quantity
    # One statement locks the products (pk order) and takes the stock if every line has it.
    products, taken = take_stock(organization_id, wanted)
    missing = [
        {"product": [f'Invalid pk "{line.product_id}" - object does not exist.']}
        if line.product_id not in products
        else {}
        for line in lines
    ]
    if any(missing):
        raise exceptions.ValidationError({"lines": missing})
    if not taken:
        index, line = next(
            (i, line)
            for i, line in enumerate(lines)
            if wanted[line.product_id] > products[line.product_id].stock
        )
        product = products[line.product_id]
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

    total = sum((products[line.product_id].price * line.quantity for line in lines), Decimal("0"))
    # The order number's counter row serializes one organization's orders, so it is taken by the
    # last statement before COMMIT: the lines and the outbox row are written first, under an id
    # taken from the sequence (the lines' foreign key is checked at commit: Django's are
    # DEFERRABLE INITIALLY DEFERRED), and the order's INSERT computes its own number.
    order_id = _next_order_id()
    order_lines = OrderLine.objects.bulk_create(
        OrderLine(
            order_id=order_id,
            product_id=line.product_id,
            quantity=line.quantity,
            unit_price=products[line.product_id].price,
        )
        for line in lines
    )
    # Subscribers' tasks are written to the outbox in this transaction (published on commit).
    raise_event("order.placed", organization_id=organization_id, order_id=order_id)
    order = Order.objects.create(
        id=order_id,
        organization_id=organization_id,
        number=next_order_number_on_insert(organization_id),
        created_by_id=user_id,
        total=total,
        metadata=metadata,
    )
    order._prefetched_objects_cache = {"lines": order_lines}
    return order


def _next_order_id() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", [Order._meta.db_table])
        return cursor.fetchone()[0]


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

"""Per-organization order numbers 1, 2, 3, ...: gap-free under concurrency and rollbacks
(core.db.counters explains the mechanism)."""

from core.db.counters import NextNumber, take_next_number

from .models import OrderNumberCounter

# Created by migration 0007; does what take_next_number does, inside the order's INSERT.
NEXT_ORDER_NUMBER_FUNCTION = "orders_next_order_number"


def next_order_number(organization_id: int) -> int:
    """Take the next number in a statement of its own (fixtures, data fixes)."""
    return take_next_number(OrderNumberCounter, organization_id)


def next_order_number_on_insert(organization_id: int) -> NextNumber:
    """The number as an expression for ``Order(number=...)``: it is taken by the INSERT itself,
    so the counter row is locked only from that (last) statement until COMMIT."""
    return NextNumber(NEXT_ORDER_NUMBER_FUNCTION, organization_id)

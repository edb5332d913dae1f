"""Permissions of the orders module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN, EVERY_ROLE, MEMBER


class Perm(StrEnum):
    ORDERS_VIEW = "orders.view"
    ORDERS_CREATE = "orders.create"
    ORDERS_CANCEL = "orders.cancel"


GRANTS = {
    Perm.ORDERS_VIEW: EVERY_ROLE,
    Perm.ORDERS_CREATE: (MEMBER, ADMIN),
    Perm.ORDERS_CANCEL: (MEMBER, ADMIN),
}

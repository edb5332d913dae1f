"""Permissions of the products module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN, EVERY_ROLE


class Perm(StrEnum):
    PRODUCTS_VIEW = "products.view"
    PRODUCTS_MANAGE = "products.manage"


GRANTS = {
    Perm.PRODUCTS_VIEW: EVERY_ROLE,
    Perm.PRODUCTS_MANAGE: (ADMIN,),
}

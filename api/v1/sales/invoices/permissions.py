"""Permissions of the invoices module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN, EVERY_ROLE, MEMBER


class Perm(StrEnum):
    INVOICES_VIEW = "invoices.view"
    INVOICES_CREATE = "invoices.create"
    INVOICES_ISSUE = "invoices.issue"
    INVOICES_PAY = "invoices.pay"
    INVOICES_VOID = "invoices.void"


# The owner holds every permission anyway.
GRANTS = {
    Perm.INVOICES_VIEW: EVERY_ROLE,
    Perm.INVOICES_CREATE: (MEMBER, ADMIN),
    Perm.INVOICES_ISSUE: (ADMIN,),
    Perm.INVOICES_PAY: (ADMIN,),
    Perm.INVOICES_VOID: (ADMIN,),
}

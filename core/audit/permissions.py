"""The audit log's permission: owner (every permission) and admin read it."""

from enum import StrEnum

from core.registry import ADMIN


class Perm(StrEnum):
    AUDIT_VIEW = "audit.view"


GRANTS = {Perm.AUDIT_VIEW: (ADMIN,)}

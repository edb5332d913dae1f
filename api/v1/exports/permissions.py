"""Permissions of the exports module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN


class Perm(StrEnum):
    EXPORTS_CREATE = "exports.create"


GRANTS = {Perm.EXPORTS_CREATE: (ADMIN,)}

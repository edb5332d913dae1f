"""Permissions of the organizations module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN, EVERY_ROLE


class Perm(StrEnum):
    ORGANIZATIONS_VIEW = "organizations.view"
    ORGANIZATIONS_DELETE = "organizations.delete"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"


GRANTS = {
    Perm.ORGANIZATIONS_VIEW: EVERY_ROLE,
    Perm.ORGANIZATIONS_DELETE: (),  # the owner only
    Perm.MEMBERS_VIEW: EVERY_ROLE,
    Perm.MEMBERS_MANAGE: (ADMIN,),
}

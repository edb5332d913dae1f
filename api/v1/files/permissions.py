"""Permissions of the files module and the built-in roles that hold them by default."""

from enum import StrEnum

from core.registry import ADMIN, EVERY_ROLE, MEMBER


class Perm(StrEnum):
    FILES_VIEW = "files.view"
    FILES_UPLOAD = "files.upload"
    FILES_DELETE = "files.delete"


GRANTS = {
    Perm.FILES_VIEW: EVERY_ROLE,
    Perm.FILES_UPLOAD: (MEMBER, ADMIN),
    Perm.FILES_DELETE: (ADMIN,),
}

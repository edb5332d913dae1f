"""The built-in role names. Permissions are declared by each module (``core.registry``)."""

from enum import StrEnum

from core import registry


class RoleName(StrEnum):
    OWNER = registry.OWNER
    ADMIN = registry.ADMIN
    MEMBER = registry.MEMBER
    VIEWER = registry.VIEWER

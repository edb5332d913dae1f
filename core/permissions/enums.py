"""Every permission codename in ERP Core. Endpoints name the ones they require from here."""

from enum import StrEnum


class Perm(StrEnum):
    ORGANIZATIONS_VIEW = "organizations.view"
    ORGANIZATIONS_DELETE = "organizations.delete"
    MEMBERS_VIEW = "members.view"
    MEMBERS_MANAGE = "members.manage"
    PRODUCTS_VIEW = "products.view"
    PRODUCTS_MANAGE = "products.manage"
    ORDERS_VIEW = "orders.view"
    ORDERS_CREATE = "orders.create"
    ORDERS_CANCEL = "orders.cancel"
    FILES_VIEW = "files.view"
    FILES_UPLOAD = "files.upload"
    FILES_DELETE = "files.delete"
    EXPORTS_CREATE = "exports.create"


class RoleName(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MEMBER = "member"
    VIEWER = "viewer"


_READ = {
    Perm.ORGANIZATIONS_VIEW,
    Perm.MEMBERS_VIEW,
    Perm.PRODUCTS_VIEW,
    Perm.ORDERS_VIEW,
    Perm.FILES_VIEW,
}
_MEMBER = _READ | {Perm.ORDERS_CREATE, Perm.ORDERS_CANCEL, Perm.FILES_UPLOAD}
_ADMIN = _MEMBER | {
    Perm.PRODUCTS_MANAGE,
    Perm.MEMBERS_MANAGE,
    Perm.FILES_DELETE,
    Perm.EXPORTS_CREATE,
}
_OWNER = set(Perm)

# The permissions each built-in role starts with. Roles are rows (organizations.Role) so an
# operator can change them; this mapping seeds them (migration + `seed_roles`).
DEFAULT_ROLE_PERMISSIONS: dict[RoleName, frozenset[Perm]] = {
    RoleName.VIEWER: frozenset(_READ),
    RoleName.MEMBER: frozenset(_MEMBER),
    RoleName.ADMIN: frozenset(_ADMIN),
    RoleName.OWNER: frozenset(_OWNER),
}

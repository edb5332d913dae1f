"""The DRF side of RBAC: one permission class driven by what each view declares.

A view declares ``required_permissions = {"list": Perm.X, "create": Perm.Y, ...}`` (per action,
or per HTTP method for plain APIViews). ``HasOrganizationPermission`` resolves the caller's
organization context (``core.tenancy``), stores it on the view and checks the declared
permission. A view that declares nothing for an action is denied: forgetting is never a grant.
"""

from __future__ import annotations

from rest_framework import exceptions, permissions

from core.tenancy.context import _current
from core.tenancy.resolver import resolve_organization_context


def required_permission_for(view, request) -> str | None:
    declared = getattr(view, "required_permissions", None)
    if declared is None:
        raise exceptions.PermissionDenied("This endpoint declares no permissions.")
    action = getattr(view, "action", None) or request.method.lower()
    if action not in declared:
        raise exceptions.MethodNotAllowed(request.method)
    return declared[action]


class HasOrganizationPermission(permissions.BasePermission):
    """Authenticated + member of the request's organization + holds the declared permission."""

    message = "You do not have permission to perform this action."

    def has_permission(self, request, view) -> bool:
        if not (request.user and request.user.is_authenticated):
            raise exceptions.NotAuthenticated()
        required = required_permission_for(view, request)
        context = resolve_organization_context(request.user, view.get_organization_slug())
        view.organization_context = context
        # Published for code far from the view; reset by the base view's finalize_response.
        view._organization_token = _current.set(context)
        if required is not None and required not in context.permissions:
            self.message = f"Your role '{context.role}' lacks the '{required}' permission."
            return False
        return True

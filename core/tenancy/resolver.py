"""Resolve which organization a request runs in, and what the caller may do there.

One function, used by the API's permission class (and by anything else that needs the answer):
``resolve_organization_context(user, slug)``.
"""

from __future__ import annotations

from rest_framework import exceptions

from .context import OrganizationContext
from .permission_cache import cached_memberships
from .swappable import get_membership_model

ORGANIZATION_HEADER = "X-Organization"


class OrganizationRequired(exceptions.ValidationError):
    """400: the caller belongs to several (or no) organizations and named none."""


def load_memberships(user_id: int, slug: str | None) -> list[OrganizationContext]:
    """The caller's memberships as contexts: the one for ``slug``, or (no slug) up to two.

    Served from the ``permissions`` cache when warm (no SQL); see ``permission_cache``.
    """
    return cached_memberships(user_id, slug, lambda: _query_memberships(user_id, slug))


def _query_memberships(user_id: int, slug: str | None) -> list[OrganizationContext]:
    rows = get_membership_model().objects.filter(user_id=user_id)
    if slug is not None:
        rows = rows.filter(organization__slug=slug)
    rows = rows.values_list(
        "organization_id", "organization__slug", "role__name", "role__permissions"
    )
    return [
        OrganizationContext(org_id, org_slug, role, frozenset(perms))
        for org_id, org_slug, role, perms in rows[:2]
    ]


def resolve_organization_context(user, slug: str | None) -> OrganizationContext:
    """The caller's context in organization ``slug`` (or their only organization).

    Raises 400 when no slug is given and the caller has zero or several memberships, and 403
    when the caller is not a member of ``slug`` (whether or not it exists: 403 either way, so
    slugs can't be probed).
    """
    memberships = load_memberships(user.pk, slug or None)
    if slug:
        if not memberships:
            raise exceptions.PermissionDenied(
                f"You are not a member of organization '{slug}'.", code="not_a_member"
            )
        return memberships[0]
    if len(memberships) == 1:
        return memberships[0]
    if not memberships:
        raise OrganizationRequired(
            {"organization": ["You are not a member of any organization: create one first."]},
            code="no_organization",
        )
    raise OrganizationRequired(
        {
            "organization": [
                f"You belong to several organizations: send the '{ORGANIZATION_HEADER}: <slug>' "
                "header to choose one."
            ]
        },
        code="organization_required",
    )

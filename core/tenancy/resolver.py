"""Resolve which organization a request runs in, and what the caller may do there.

One function, used by the API's permission class (and by anything else that needs the answer):
``resolve_organization_context(user, slug)``. Which organization a request names comes from
``requested_organization(request)``: the ``X-Organization`` header, else the ``?organization=``
query parameter (what a browser can send: the browsable API), each a slug or an id.
"""

from __future__ import annotations

from django.db.models import Case, IntegerField, Q, Value, When
from rest_framework import exceptions

from .context import OrganizationContext
from .permission_cache import cached_memberships
from .swappable import get_membership_model

ORGANIZATION_HEADER = "X-Organization"
ORGANIZATION_PARAM = "organization"
MAX_ID_DIGITS = 18  # bigint: a longer number can only be a slug


def requested_organization(request) -> str | None:
    """The organization a request names: the header (API clients) wins over the query parameter
    (browsers); ``None`` when it names none."""
    return request.headers.get(ORGANIZATION_HEADER) or request.GET.get(ORGANIZATION_PARAM) or None


class OrganizationRequired(exceptions.ValidationError):
    """400: the caller belongs to several (or no) organizations and named none."""


def load_memberships(user_id: int, slug: str | None) -> list[OrganizationContext]:
    """The caller's memberships as contexts: the one for ``slug``, or (no slug) up to two.

    Served from the ``permissions`` cache when warm (no SQL); see ``permission_cache``.
    """
    return cached_memberships(user_id, slug, lambda: _query_memberships(user_id, slug))


def _query_memberships(user_id: int, slug: str | None) -> list[OrganizationContext]:
    rows = get_membership_model().objects.filter(user_id=user_id)
    if slug is not None and slug.isascii() and slug.isdigit() and len(slug) <= MAX_ID_DIGITS:
        # An id or a numeric slug: the slug match wins when both exist.
        by_slug = Q(organization__slug=slug)
        rows = rows.filter(by_slug | Q(organization_id=int(slug))).order_by(
            Case(When(by_slug, then=Value(0)), default=Value(1), output_field=IntegerField())
        )
    elif slug is not None:
        rows = rows.filter(organization__slug=slug)
    rows = rows.values_list(
        "organization_id", "organization__slug", "role__name", "role__permissions"
    )
    return [
        OrganizationContext(org_id, org_slug, role, frozenset(perms))
        for org_id, org_slug, role, perms in rows[:2]
    ]


def resolve_organization_context(user, slug: str | None) -> OrganizationContext:
    """The caller's context in organization ``slug`` (a slug or an id; or their only one).

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
                f"header (or ?{ORGANIZATION_PARAM}=<slug>) to choose one."
            ]
        },
        code="organization_required",
    )

"""Every write to organizations and memberships goes through these actions."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q
from rest_framework import exceptions

from core.permissions.enums import RoleName
from core.tenancy.context import OrganizationContext

from .models import Membership, Organization, Role
from .permissions import Perm


class LastOwner(exceptions.APIException):
    status_code = 409
    default_detail = "An organization must keep at least one owner."
    default_code = "last_owner"


def get_role(name: str) -> Role:
    try:
        return Role.objects.get(name=name)
    except Role.DoesNotExist:
        raise exceptions.ValidationError({"role": [f"Unknown role '{name}'."]}) from None


@transaction.atomic
def create_organization(*, user, name: str, slug: str) -> Organization:
    """Create an organization; its creator becomes the owner."""
    organization = Organization.objects.create(name=name, slug=slug)
    Membership.objects.create(user=user, organization=organization, role=get_role(RoleName.OWNER))
    return organization


def _require_owner_rights(actor: OrganizationContext, *roles: str) -> None:
    # Only owners may grant the owner role or change/remove an owner: an admin must not be able
    # to take over (or lock out) the organization.
    if RoleName.OWNER in roles and not actor.has(Perm.ORGANIZATIONS_DELETE):
        raise exceptions.PermissionDenied(
            "Only an owner can grant, change or remove the owner role."
        )


def _lock_membership_and_owners(membership: Membership) -> tuple[Membership, list[Membership]]:
    """Lock ``membership`` and every owner membership of its organization; return them.

    All rows are locked by one statement in primary-key order: that is the one global lock order
    of membership changes. Locking the target first and the other owners second (as before) let
    two owners demoting each other take the same two locks in opposite orders and deadlock.
    Only membership rows are locked (``of=self``), never the shared role rows.
    """
    rows = list(
        Membership.objects.select_for_update(of=("self",))
        .select_related("role")
        .filter(organization_id=membership.organization_id)
        .filter(Q(pk=membership.pk) | Q(role__name=RoleName.OWNER))
        .order_by("pk")
    )
    target = next((row for row in rows if row.pk == membership.pk), None)
    if target is None:  # deleted meanwhile
        raise exceptions.NotFound()
    owners = [row for row in rows if row.role.name == RoleName.OWNER]
    return target, owners


def _ensure_other_owner_remains(membership: Membership, owners: list[Membership]) -> None:
    if not any(owner.pk != membership.pk for owner in owners):
        raise LastOwner()


@transaction.atomic
def add_member(*, actor: OrganizationContext, username: str, role: str) -> Membership:
    role_obj = get_role(role)
    _require_owner_rights(actor, role_obj.name)
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise exceptions.ValidationError({"username": [f"User '{username}' does not exist."]})
    membership, created = Membership.objects.get_or_create(
        organization_id=actor.organization_id, user=user, defaults={"role": role_obj}
    )
    if not created:
        raise exceptions.ValidationError({"username": [f"'{username}' is already a member."]})
    return membership


@transaction.atomic
def change_member_role(
    *, actor: OrganizationContext, membership: Membership, role: str
) -> Membership:
    role_obj = get_role(role)
    membership, owners = _lock_membership_and_owners(membership)
    _require_owner_rights(actor, role_obj.name, membership.role.name)
    if membership.role.name == RoleName.OWNER and role_obj.name != RoleName.OWNER:
        _ensure_other_owner_remains(membership, owners)
    membership.role = role_obj
    membership.save(update_fields=["role", "updated_at"])
    return membership


@transaction.atomic
def remove_member(*, actor: OrganizationContext, membership: Membership) -> None:
    membership, owners = _lock_membership_and_owners(membership)
    _require_owner_rights(actor, membership.role.name)
    if membership.role.name == RoleName.OWNER:
        _ensure_other_owner_remains(membership, owners)
    membership.delete()


@transaction.atomic
def delete_organization(*, organization_id: int) -> None:
    Organization.objects.filter(pk=organization_id).delete()

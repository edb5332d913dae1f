"""Organizations (tenants), roles and memberships."""

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

from core.db.invalidation import InvalidatingQuerySet
from core.db.models import TimeStampedModel
from core.tenancy.permission_cache import invalidate_all_permissions, invalidate_users


class GlobalPermissionsQuerySet(InvalidatingQuerySet):
    """Organizations and roles: a change (slug, role permissions) invalidates every cached
    permission set (rare writes; one generation bump). Creating one changes nobody's."""

    invalidate_on_create = False

    @classmethod
    def invalidate_cache(cls, scopes) -> None:
        invalidate_all_permissions()


class MembershipQuerySet(InvalidatingQuerySet):
    """Any membership write invalidates the cached permissions of the users concerned."""

    cache_scope_field = "user_id"

    @classmethod
    def invalidate_cache(cls, scopes) -> None:
        invalidate_users(scopes)


class Organization(TimeStampedModel):
    """A tenant. Every business row belongs to exactly one."""

    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=100, unique=True)

    objects = GlobalPermissionsQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.slug


class Role(models.Model):
    """A named set of permissions (``core.permissions.enums.Perm`` codenames).

    The four built-in roles are seeded by migration; their permission lists are editable in the
    admin and take effect on the next request of every member holding the role.
    """

    name = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=200, blank=True)
    permissions = ArrayField(models.CharField(max_length=100), default=list, blank=True)

    objects = GlobalPermissionsQuerySet.as_manager()

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Membership(TimeStampedModel):
    """A user's role in one organization."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.ForeignKey(Role, on_delete=models.PROTECT, related_name="memberships")

    objects = MembershipQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "user"], name="organizations_membership_org_user_uniq"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}@{self.organization_id}:{self.role_id}"

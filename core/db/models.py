"""Abstract base models every ERP model composes (NetBox-style feature mixins)."""

from django.conf import settings
from django.db import models

from core.tenancy.querysets import OrganizationScopedQuerySet


class TimeStampedModel(models.Model):
    """Adds ``created_at``/``updated_at`` maintained by Django."""

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class OrganizationScopedModel(TimeStampedModel):
    """A row that belongs to exactly one organization (tenant).

    The API's base viewset scopes every query to the request's organization, so no endpoint
    can forget the scope; services and tasks use ``Model.objects.restrict()`` (the current
    organization context, see ``core.tenancy.querysets``).
    """

    organization = models.ForeignKey(
        settings.ERP_ORGANIZATION_MODEL, on_delete=models.CASCADE, related_name="+"
    )

    objects = OrganizationScopedQuerySet.as_manager()

    class Meta:
        abstract = True

"""Base views for organization-scoped endpoints. App views only declare queryset, serializer and
``required_permissions``; scoping and permission checks come from here."""

from __future__ import annotations

from rest_framework import viewsets
from rest_framework.permissions import IsAuthenticated

from core.tenancy.context import _current
from core.tenancy.resolver import requested_organization

from .drf import HasOrganizationPermission


class OrganizationScopedMixin:
    """Scopes ``get_queryset()`` to the request's organization and exposes it to serializers.

    Objects of other organizations are simply absent from the queryset, so every detail and
    action route answers 404 for them and lists never show them.
    """

    permission_classes = [IsAuthenticated, HasOrganizationPermission]
    required_permissions: dict[str, str | None] = {}
    organization_context = None
    _organization_token = None

    def get_organization_slug(self) -> str | None:
        return requested_organization(self.request)

    @property
    def organization_id(self) -> int:
        return self.organization_context.organization_id

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation: no request context
            return super().get_queryset().none()
        return super().get_queryset().filter(organization_id=self.organization_id)

    def get_serializer_context(self):
        context = super().get_serializer_context()
        context["organization_context"] = self.organization_context
        return context

    def finalize_response(self, request, response, *args, **kwargs):
        if self._organization_token is not None:
            _current.reset(self._organization_token)
            self._organization_token = None
        return super().finalize_response(request, response, *args, **kwargs)


class OrganizationScopedViewSet(OrganizationScopedMixin, viewsets.GenericViewSet):
    pass

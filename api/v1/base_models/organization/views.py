from django.db.models import F
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, status, viewsets
from rest_framework.response import Response

from core.permissions.viewsets import OrganizationScopedViewSet

from . import services
from .models import Membership, Organization
from .permissions import Perm
from .serializers import (
    MemberCreateSerializer,
    MemberSerializer,
    MemberUpdateSerializer,
    OrganizationSerializer,
)


class OrganizationViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """The caller's organizations. Creating one makes the caller its owner."""

    permission_classes = [permissions.IsAuthenticated]
    serializer_class = OrganizationSerializer
    lookup_field = "slug"

    def get_queryset(self):
        # filter() before annotate(): the annotation then reads the caller's own membership row.
        return Organization.objects.filter(memberships__user=self.request.user).annotate(
            caller_role=F("memberships__role__name")
        )

    def perform_create(self, serializer):
        organization = services.create_organization(
            user=self.request.user, **serializer.validated_data
        )
        organization.caller_role = "owner"
        serializer.instance = organization


class OrganizationDetailViewSet(
    mixins.RetrieveModelMixin, mixins.DestroyModelMixin, OrganizationScopedViewSet
):
    """One organization, addressed by slug in the URL (no header needed)."""

    serializer_class = OrganizationSerializer
    lookup_field = "slug"
    required_permissions = {
        "retrieve": Perm.ORGANIZATIONS_VIEW,
        "destroy": Perm.ORGANIZATIONS_DELETE,
    }

    def get_organization_slug(self):
        return self.kwargs["slug"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # OpenAPI generation
            return Organization.objects.none()
        # filter() before annotate(): the annotation then reads the caller's own membership row.
        return Organization.objects.filter(
            pk=self.organization_id, memberships__user=self.request.user
        ).annotate(caller_role=F("memberships__role__name"))

    def perform_destroy(self, instance):
        services.delete_organization(organization_id=instance.pk)


class MemberViewSet(OrganizationScopedViewSet):
    """Members of the organization named in the URL."""

    queryset = Membership.objects.select_related("user", "role").order_by("user__username")
    serializer_class = MemberSerializer
    lookup_field = "user__username"
    lookup_url_kwarg = "username"
    lookup_value_regex = r"[\w.@+-]+"
    required_permissions = {
        "list": Perm.MEMBERS_VIEW,
        "retrieve": Perm.MEMBERS_VIEW,
        "create": Perm.MEMBERS_MANAGE,
        "partial_update": Perm.MEMBERS_MANAGE,
        "destroy": Perm.MEMBERS_MANAGE,
    }

    def get_organization_slug(self):
        return self.kwargs["organization_slug"]

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        return Response(self.get_serializer(self.get_object()).data)

    @extend_schema(request=MemberCreateSerializer, responses={201: MemberSerializer})
    def create(self, request, *args, **kwargs):
        payload = MemberCreateSerializer(data=request.data)
        payload.is_valid(raise_exception=True)
        membership = services.add_member(actor=self.organization_context, **payload.validated_data)
        return Response(self.get_serializer(membership).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MemberUpdateSerializer, responses={200: MemberSerializer})
    def partial_update(self, request, *args, **kwargs):
        payload = MemberUpdateSerializer(data=request.data, partial=True)
        payload.is_valid(raise_exception=True)
        if not payload.validated_data:  # PATCH with nothing to change: the member as it is
            return Response(self.get_serializer(self.get_object()).data)
        membership = services.change_member_role(
            actor=self.organization_context, membership=self.get_object(), **payload.validated_data
        )
        return Response(self.get_serializer(membership).data)

    def destroy(self, request, *args, **kwargs):
        services.remove_member(actor=self.organization_context, membership=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

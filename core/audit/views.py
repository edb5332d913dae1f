"""``GET /api/v1/audit-log/`` and ``/api/v1/audit-log/<id>/``: the organization's records,
newest first. Read-only: every write method answers 405."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins
from rest_framework.exceptions import ValidationError

from core.permissions.viewsets import OrganizationScopedViewSet

from .models import AuditAction, AuditRecord
from .permissions import Perm
from .serializers import AuditRecordSerializer

FILTERS = [
    OpenApiParameter("object_type", OpenApiTypes.STR, description="`<app_label>.<model>`."),
    OpenApiParameter("object_id", OpenApiTypes.STR, description="The object's primary key."),
    OpenApiParameter("actor", OpenApiTypes.INT, description="User id of who made the change."),
    OpenApiParameter("action", OpenApiTypes.STR, enum=list(AuditAction.values)),
    OpenApiParameter(
        "created_after", OpenApiTypes.DATETIME, description="ISO 8601; records at or after."
    ),
    OpenApiParameter(
        "created_before", OpenApiTypes.DATETIME, description="ISO 8601; records before."
    ),
]


def _datetime(name: str, value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError(
            {name: [f"'{value}' is not an ISO 8601 date-time (e.g. 2026-12-07T14:00:00Z)."]}
        ) from None
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@extend_schema_view(list=extend_schema(parameters=FILTERS))
class AuditRecordViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, OrganizationScopedViewSet
):
    """Every create, update and delete in the organization: who, what, field changes, request."""

    queryset = AuditRecord.objects.all()
    serializer_class = AuditRecordSerializer
    ordering = ["-id"]
    required_permissions = {"list": Perm.AUDIT_VIEW, "retrieve": Perm.AUDIT_VIEW}

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        if self.action != "list":
            return queryset
        params = self.request.query_params
        if "object_type" in params:
            queryset = queryset.filter(object_type=params["object_type"].lower())
        if "object_id" in params:
            queryset = queryset.filter(object_id=params["object_id"])
        if "actor" in params:
            actor = params["actor"]
            if not actor.isdigit() or not actor.isascii():
                raise ValidationError({"actor": [f"'{actor}' is not a user id (an integer)."]})
            queryset = queryset.filter(actor_id=int(actor))
        if "action" in params:
            action = params["action"]
            if action not in AuditAction.values:
                raise ValidationError(
                    {"action": [f"'{action}' is not one of: {', '.join(AuditAction.values)}."]}
                )
            queryset = queryset.filter(action=action)
        if "created_after" in params:
            queryset = queryset.filter(
                created_at__gte=_datetime("created_after", params["created_after"])
            )
        if "created_before" in params:
            queryset = queryset.filter(
                created_at__lt=_datetime("created_before", params["created_before"])
            )
        return queryset.order_by(*self.ordering)

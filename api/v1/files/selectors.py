"""Reads: which objects files can be attached to, checked against the caller's organization."""

from __future__ import annotations

import json

from django.contrib.contenttypes.models import ContentType
from rest_framework.exceptions import ValidationError

from core.db.models import OrganizationScopedModel
from core.registry import registry

__all__ = ["access_attach_target", "get_attachable_type", "type_label"]

ATTACH_TO_FORMAT = 'Send JSON like {"type": "orders.order", "id": 12}.'


def attachable_types() -> list[str]:
    return list(registry["attachable_types"])


def type_label(content_type: ContentType) -> str:
    return f"{content_type.app_label}.{content_type.model}"


def get_attachable_type(label: str) -> ContentType | None:
    """The content type named ``app_label.model`` if a module registered it as attachable
    (``core.registry.register_attachable``) and its model is organization-scoped."""
    app_label, _, model = (label or "").partition(".")
    if not app_label or not model or f"{app_label}.{model}".lower() not in attachable_types():
        return None
    try:
        content_type = ContentType.objects.get_by_natural_key(app_label, model.lower())
    except ContentType.DoesNotExist:
        return None
    model_class = content_type.model_class()
    if model_class is None or not issubclass(model_class, OrganizationScopedModel):
        return None
    return content_type


def access_attach_target(organization_id: int, raw: str):
    """Parse ``attach_to`` and return (content_type, object_id) of an object of the organization.

    A missing object and another organization's object get the same 400, so ids can't be probed.
    Raises a field-less ``ValidationError``: the serializer files it under ``attach_to``.
    """
    try:
        value = json.loads(raw)
    except (TypeError, ValueError):
        raise ValidationError(f"Not valid JSON. {ATTACH_TO_FORMAT}") from None
    if (
        not isinstance(value, dict)
        or set(value) != {"type", "id"}
        or not isinstance(value["type"], str)
        or not isinstance(value["id"], int)
        or isinstance(value["id"], bool)
        or value["id"] < 1
    ):
        raise ValidationError(ATTACH_TO_FORMAT)
    content_type = get_attachable_type(value["type"])
    if content_type is None:
        raise ValidationError(f"'{value['type']}' is not a type files can be attached to.")
    model = content_type.model_class()
    if not model._default_manager.filter(pk=value["id"], organization_id=organization_id).exists():
        raise ValidationError(f"No {value['type']} with id {value['id']} in this organization.")
    return content_type, value["id"]

"""Serializer fields shared by every API module."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .json_limits import violation

__all__ = ["JSONField", "JSONObjectField", "StrictCharField", "StrictSlugField"]


class StrictStringMixin:
    """A JSON string only: DRF's CharField also takes numbers (``"slug": 0`` became ``"0"``),
    which the OpenAPI schema (``type: string``) forbids. Multipart/form values are strings."""

    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class StrictCharField(StrictStringMixin, serializers.CharField):
    pass


class StrictSlugField(StrictStringMixin, serializers.SlugField):
    pass


class JSONField(serializers.JSONField):
    """DRF's JSONField, refusing values the response renderer could not render back (400 naming
    the field): nesting deeper than 32 levels, integers outside signed 64-bit, NaN/Infinity."""

    default_error_messages = {"limits": "{problem}"}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if (problem := violation(value)) is not None:
            self.fail("limits", problem=problem)
        return value


@extend_schema_field(
    {"type": "object", "additionalProperties": True, "example": {"reference": "PO-1234"}}
)
class JSONObjectField(JSONField):
    """A JSON object (``custom_fields``, ``metadata``): free-form keys, within the limits."""

    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        return value

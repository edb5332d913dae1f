"""Serializer fields shared by every API module."""

from __future__ import annotations

from rest_framework import serializers

from .json_limits import violation

__all__ = ["JSONField", "JSONObjectField"]


class JSONField(serializers.JSONField):
    """DRF's JSONField, refusing values the response renderer could not render back (400 naming
    the field): nesting deeper than 32 levels, integers outside signed 64-bit, NaN/Infinity."""

    default_error_messages = {"limits": "{problem}"}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if (problem := violation(value)) is not None:
            self.fail("limits", problem=problem)
        return value


class JSONObjectField(JSONField):
    """A JSON object (``custom_fields``, ``metadata``): free-form keys, within the limits."""

    default_error_messages = {"not_object": "Must be a JSON object."}

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, dict):
            self.fail("not_object")
        return value

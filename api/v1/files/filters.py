"""File list filters: ``?attached_type=orders.order&attached_id=12``."""

from rest_framework.exceptions import ValidationError

from .selectors import get_attachable_type


def filter_files(queryset, params):
    label = params.get("attached_type")
    raw_id = params.get("attached_id")
    if label is None and raw_id is None:
        return queryset
    if label is None:
        raise ValidationError({"attached_type": ["Required together with attached_id."]})
    content_type = get_attachable_type(label)
    if content_type is None:
        raise ValidationError({"attached_type": [f"'{label}' is not an attachable type."]})
    queryset = queryset.filter(attached_type=content_type)
    if raw_id is not None:
        if not raw_id.isdigit():
            raise ValidationError({"attached_id": ["Must be a positive integer."]})
        queryset = queryset.filter(attached_id=int(raw_id))
    return queryset

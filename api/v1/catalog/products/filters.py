"""Product list filters: ``?search=`` and ``?custom_fields__<key>=<value>``."""

import json

from django.db.models import Q

CUSTOM_FIELD_PREFIX = "custom_fields__"


def _json_candidates(raw: str) -> list:
    """``?custom_fields__size=10`` matches the string "10" and the number 10 (and true/false/null)."""
    candidates = [raw]
    try:
        parsed = json.loads(raw)
    except ValueError:
        return candidates
    if not isinstance(parsed, dict | list | str):
        candidates.append(parsed)
    return candidates


def filter_products(queryset, params):
    if search := params.get("search", "").strip():
        queryset = queryset.filter(Q(sku__icontains=search) | Q(name__icontains=search))
    for key, raw in params.items():
        if key.startswith(CUSTOM_FIELD_PREFIX) and (field := key[len(CUSTOM_FIELD_PREFIX) :]):
            # @> containment: served by the GIN index on custom_fields.
            match = Q()
            for candidate in _json_candidates(raw):
                match |= Q(custom_fields__contains={field: candidate})
            queryset = queryset.filter(match)
    return queryset

"""Query-string filters shared by list endpoints."""

from rest_framework import filters
from rest_framework.exceptions import ValidationError


class StrictOrderingFilter(filters.OrderingFilter):
    """``?ordering=field,-other`` limited to the view's ``ordering_fields``; anything else → 400.

    DRF silently ignores unknown fields, which hides client bugs.
    """

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if not raw:
            return self.get_default_ordering(view)
        allowed = set(getattr(view, "ordering_fields", ()))
        fields = [term.strip() for term in raw.split(",") if term.strip()]
        unknown = [term for term in fields if term.lstrip("-") not in allowed]
        if unknown or not fields:
            named = ", ".join(unknown) or raw
            raise ValidationError(
                {
                    self.ordering_param: [
                        f"Unknown ordering field(s): {named}. "
                        f"Allowed: {', '.join(sorted(allowed))} (prefix with '-' to reverse)."
                    ]
                }
            )
        # Always end with the primary key so pages are stable.
        return [*fields, "id"] if "id" not in {f.lstrip("-") for f in fields} else fields

    def get_schema_operation_parameters(self, view):
        """The schema allows exactly what get_ordering() accepts: allowed fields, comma-separated,
        each optionally prefixed with '-'."""
        import re

        parameters = super().get_schema_operation_parameters(view)
        allowed = sorted(getattr(view, "ordering_fields", ()) or ())
        if allowed:
            term = "-?(?:" + "|".join(re.escape(name) for name in allowed) + ")"
            for parameter in parameters:
                parameter["schema"]["pattern"] = f"^(?:{term}(?:,{term})*)?$"  # empty: default
                parameter["description"] = (
                    f"Comma-separated fields among {', '.join(allowed)}; '-' reverses."
                )
        return parameters

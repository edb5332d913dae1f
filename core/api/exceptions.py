"""Every error leaves the API as JSON with a 4xx status naming the field, never as a 500.

DRF already handles its own exceptions; this handler adds the database's: a constraint that
fires (a race past the serializer's checks, or a rule only the database enforces) is mapped back
to the field it guards. Field names come from the models' own constraint declarations.
"""

from __future__ import annotations

import logging
from functools import cache

from django.apps import apps
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DataError, IntegrityError, models
from django.db.models.deletion import ProtectedError, RestrictedError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.db.outage import is_outage, outage_response

logger = logging.getLogger(__name__)


@cache
def constraint_fields() -> dict[str, tuple[str, str]]:
    """Map each declared constraint name to (field, kind) from every model's Meta."""
    mapping: dict[str, tuple[str, str]] = {}
    for model in apps.get_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                fields = [f for f in constraint.fields if f != "organization"]
                mapping[constraint.name] = (fields[-1] if fields else "non_field_errors", "unique")
            elif isinstance(constraint, models.CheckConstraint):
                mapping[constraint.name] = (_first_field(constraint.condition), "check")
    return mapping


def _first_field(condition) -> str:
    """The field of a check's first lookup, also inside nested ``Q(...) | Q(...)``."""
    node = condition
    while isinstance(node, models.Q):
        if not node.children:
            return "non_field_errors"
        node = node.children[0]
    lookup = node[0] if isinstance(node, tuple) else None
    return lookup.split("__")[0] if isinstance(lookup, str) else "non_field_errors"


def integrity_error_response(exc: IntegrityError) -> Response:
    diag = getattr(exc.__cause__, "diag", None)
    constraint = getattr(diag, "constraint_name", None)
    column = getattr(diag, "column_name", None)
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    field, kind = constraint_fields().get(constraint, (column or "non_field_errors", ""))
    if sqlstate == "23505" or kind == "unique":
        return Response(
            {field: ["An object with this value already exists."]}, status=status.HTTP_409_CONFLICT
        )
    if sqlstate == "23503":  # foreign key
        return Response({field: ["The referenced object does not exist."]}, status=400)
    if sqlstate == "23502":  # not null
        return Response({field: ["This field may not be null."]}, status=400)
    if sqlstate == "23514" or kind == "check":
        return Response({field: ["The value violates a database rule."]}, status=400)
    logger.warning("unmapped integrity error: %s", exc)
    return Response({"non_field_errors": ["The data violates a database rule."]}, status=400)


class DomainError(Exception):
    """A business-rule refusal with a structured JSON body (values keep their JSON types)."""

    status_code = 409

    def __init__(self, payload: dict, status_code: int | None = None):
        super().__init__(payload.get("detail", ""))
        self.payload = payload
        if status_code is not None:
            self.status_code = status_code


def exception_handler(exc, context):
    response = _exception_response(exc, context)
    request = context.get("request")
    renderer = getattr(request, "accepted_renderer", None)
    if response is not None and renderer is not None and renderer.format != "json":
        # A browser (the browsable API) gets the error as JSON too: every error under /api/ is.
        from .renderers import FastJSONRenderer

        request.accepted_renderer = FastJSONRenderer()
        request.accepted_media_type = FastJSONRenderer.media_type
    return response


def _exception_response(exc, context):
    if is_outage(exc):  # the database is unreachable: 503 + Retry-After, not 500
        return outage_response(exc)
    if isinstance(exc, DomainError):
        return Response(exc.payload, status=exc.status_code)
    # ProtectedError/RestrictedError subclass IntegrityError: test them first.
    if isinstance(exc, ProtectedError | RestrictedError):
        return Response(
            {"detail": "This object is still referenced by other records and can't be deleted."},
            status=status.HTTP_409_CONFLICT,
        )
    if isinstance(exc, IntegrityError):
        return integrity_error_response(exc)
    if isinstance(exc, DataError):
        # e.g. a NUL byte inside JSON, a value out of the column's range. The database's own text
        # (table, column and value names, server details) stays in the log, never in a response.
        logger.warning(
            "database rejected a value: %s", str(exc).splitlines()[0] if str(exc) else ""
        )
        return Response(
            {"non_field_errors": ["The database rejected a value (out of range or not storable)."]},
            status=status.HTTP_400_BAD_REQUEST,
        )
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        # Raised by Django while DRF reads the body (before any parser): a 400 like Django's
        # handler400, but JSON and naming the limit.
        from .errors import bad_request_detail

        return Response({"detail": bad_request_detail(exc)}, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, DjangoValidationError):
        detail = (
            exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        )
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    return drf_exception_handler(exc, context)

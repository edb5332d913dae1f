"""JSON error pages for everything under ``/api/`` that Django answers before (or instead of) DRF.

DRF renders its own exceptions as JSON, but some errors never reach a DRF view: an unknown URL
(404), a body over ``DATA_UPLOAD_MAX_MEMORY_SIZE`` or with too many fields (Django's
``SuspiciousOperation`` family, answered by ``handler400``), a CSRF refusal (403) and an unhandled
exception (500). ``config/urls.py`` points Django's ``handler400/403/404/500`` here: under
``/api/`` they answer ``{"detail": ...}`` as JSON, elsewhere Django's own HTML pages.
"""

from __future__ import annotations

import sys

from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.http import JsonResponse
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt

__all__ = [
    "bad_request",
    "permission_denied",
    "page_not_found",
    "server_error",
    "is_api",
    "unknown_api_url",
    "UNKNOWN_API_URL",
]

API_PREFIX = "/api/"


def is_api(request) -> bool:
    return request.path.startswith(API_PREFIX)


def _json(request, status: int, detail: str) -> JsonResponse:
    return JsonResponse({"detail": detail}, status=status)


def bad_request_detail(exception) -> str:
    from django.conf import settings

    if isinstance(exception, RequestDataTooBig):
        return (
            "The request body is larger than the "
            f"{settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes accepted (DATA_UPLOAD_MAX_MEMORY_SIZE); "
            "upload files through /api/v1/files/ as multipart/form-data."
        )
    if isinstance(exception, TooManyFieldsSent):
        return (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields "
            "(DATA_UPLOAD_MAX_NUMBER_FIELDS)."
        )
    if isinstance(exception, TooManyFilesSent):
        return (
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FILES} files "
            "(DATA_UPLOAD_MAX_NUMBER_FILES)."
        )
    return "Bad request: the body or headers could not be parsed."


def bad_request(request, exception=None):
    if is_api(request):
        return _json(request, 400, bad_request_detail(exception))
    return defaults.bad_request(request, exception)


def permission_denied(request, exception=None):
    if is_api(request):
        return _json(request, 403, "You do not have permission to perform this action.")
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception=None):
    if is_api(request):
        return _json(request, 404, f"No API endpoint at {request.path}; see /api/v1/docs/.")
    return defaults.page_not_found(request, exception)


UNKNOWN_API_URL = "api-unknown-url"


@csrf_exempt  # no route, nothing to protect: a DELETE to an unknown URL is a 404, not a CSRF 403
def unknown_api_url(request, rest=""):
    """The last pattern under ``/api/`` (config/urls.py): no route matched. It answers the JSON
    404 itself, because with ``DEBUG=True`` Django would render its HTML technical 404 for an
    unmatched URL and never call ``handler404``. ``APPEND_SLASH`` still applies: when the path
    plus ``/`` is a real route, it redirects as CommonMiddleware would have."""
    from django.conf import settings
    from django.http import HttpResponsePermanentRedirect
    from django.urls import Resolver404, resolve

    path = request.path_info
    if settings.APPEND_SLASH and not path.endswith("/") and request.method in ("GET", "HEAD"):
        try:
            match = resolve(path + "/", getattr(request, "urlconf", None))
        except Resolver404:
            match = None
        if match is not None and match.url_name != UNKNOWN_API_URL:
            return HttpResponsePermanentRedirect(request.get_full_path(force_append_slash=True))
    return page_not_found(request)


unknown_api_url.unmatched_route = True  # /metrics: one "<unmatched>" route label for every 404


def server_error(request):
    # A database outage (core.db.outage) is a 503 + Retry-After, not a 500, for every view.
    from core.db.outage import is_outage, outage_response

    if is_outage(exc := sys.exc_info()[1]):
        return outage_response(exc)
    if is_api(request):
        return _json(
            request,
            500,
            "Internal server error; it has been logged. Quote the X-Request-ID header when you "
            "report it.",
        )
    return defaults.server_error(request)

"""Errors Django itself answers for URLs under ``/api/`` become JSON, like every DRF error.

An unknown API URL (``/api/v1/products/0.5/``: no route matches) gets Django's 404 page, and
with ``DEBUG`` on its technical 404 page: HTML a JSON client cannot read. This middleware turns
any HTML error response under ``/api/`` into ``{"detail": ..., "code": ...}`` with the same status.
"""

from django.http import JsonResponse

API_PREFIX = "/api/"


class APIJSONErrorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code >= 400
            and request.path.startswith(API_PREFIX)
            and response.get("Content-Type", "").startswith("text/html")
        ):
            reason = response.reason_phrase or "Error"
            json_response = JsonResponse(
                {"detail": f"{reason}.", "code": reason.lower().replace(" ", "_")},
                status=response.status_code,
            )
            for header in ("Allow", "Retry-After", "Vary"):
                if header in response:
                    json_response[header] = response[header]
            return json_response
        return response

"""Django's own 404 for URLs under ``/api/`` as JSON, like every DRF error.

An unknown API URL (``/api/v1/products/0.5/``: no route matches) is answered by Django's
handler404 (config/urls.py), not by DRF: without this it is an HTML page a JSON client cannot
read. (With ``DEBUG`` on, Django shows its technical 404 page instead, as for any URL.) A
handler rather than a middleware: a middleware deepens every request's stack, which the JSON
nesting limits are measured against (core/tests/test_json_inputs.py).
"""

from django.http import JsonResponse
from django.views import defaults

API_PREFIX = "/api/"


def not_found(request, exception=None):
    if request.path.startswith(API_PREFIX):
        return JsonResponse({"detail": "Not found.", "code": "not_found"}, status=404)
    return defaults.page_not_found(request, exception)

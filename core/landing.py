"""``/`` and ``/api/v1/``: what is here and where the docs, the admin and the health endpoints are.

Public and static (no database, no authentication): a newcomer's first request, and the admin's
"View site" (``admin.site.site_url`` is ``/``), land here.
"""

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.urls import reverse

__all__ = ["LINKS", "api_root", "home"]

# (key, title, url name or path)
LINKS = [
    ("docs", "Interactive API docs (Swagger UI)", "docs"),
    ("redoc", "API reference (Redoc)", "redoc"),
    ("schema", "OpenAPI 3 schema", "schema"),
    ("token", "Get a token: POST username and password", "auth-token"),
    ("admin", "Django admin", "admin:index"),
    ("ops", "Operations page (staff)", "ops"),
    ("health_live", "Liveness", "health-live"),
    ("health_ready", "Readiness of every component", "health-ready"),
    ("metrics", "Prometheus metrics", "metrics"),
]


def _links() -> list[dict]:
    links = []
    for key, title, name in LINKS:
        try:
            url = reverse(name)
        except Exception:  # a route a deployment left out (e.g. ops): not listed
            continue
        links.append({"key": key, "title": title, "url": url})
    return links


def home(request):
    """``/``: an HTML page for people (JSON with ``Accept: application/json``)."""
    if "application/json" in request.headers.get("Accept", ""):
        return api_root(request)
    return render(
        request,
        "core/home.html",
        {"links": _links(), "version": settings.APP_VERSION, "title": "ERP Core"},
    )


def api_root(request):
    """``/api/v1/``: the same links as JSON, plus how to authenticate."""
    links = _links()
    return JsonResponse(
        {
            "name": "ERP Core API",
            "version": settings.APP_VERSION,
            "authentication": "POST /api/v1/auth/token/ {username, password} -> {token}; send "
            "Authorization: Token <token> and, for organization-scoped endpoints, "
            "X-Organization: <slug>",
            "links": {link["key"]: request.build_absolute_uri(link["url"]) for link in links},
        }
    )

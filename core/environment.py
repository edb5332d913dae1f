"""Which environment this is, visibly: ``ERP_ENVIRONMENT`` (``staging`` in
``config.settings.staging``; empty in prod and dev).

When set, every response carries ``X-Environment: <name>`` (API clients, smoke checks and
proxies can tell staging from prod) and the admin header reads ``ERP Core [STAGING]``.
"""

from __future__ import annotations

from django.conf import settings
from django.core.exceptions import MiddlewareNotUsed

HEADER = "X-Environment"


def environment_name() -> str:
    return getattr(settings, "ERP_ENVIRONMENT", "") or ""


class EnvironmentHeaderMiddleware:
    """Adds ``X-Environment`` to every response when ``ERP_ENVIRONMENT`` is set (otherwise
    Django leaves it out of the chain: no cost in prod)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.name = environment_name()
        if not self.name:
            raise MiddlewareNotUsed

    def __call__(self, request):
        response = self.get_response(request)
        response[HEADER] = self.name
        return response


def mark_admin() -> None:
    """Put the environment in the admin's header and title (AppConfig.ready)."""
    name = environment_name()
    if not name:
        return
    from django.contrib import admin

    marker = f"[{name.upper()}]"
    admin.site.site_header = f"ERP Core {marker}"
    admin.site.site_title = f"ERP Core {marker}"
    admin.site.index_title = f"Administration of the {name} environment"

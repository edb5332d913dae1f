"""The OpenAPI schema, generated once per process (and once per gunicorn master: workers inherit).

Generating it walks every view and serializer (3.8 s on these machines at the first request);
the schema only changes with the code, so each process keeps what it generated, per API version
and language. ``warm()`` runs in gunicorn's master before the fork (config/gunicorn.py), so no
request ever pays for it. A deploy restarts the processes, which is what invalidates it.
"""

from __future__ import annotations

import logging
import threading
import time

from django.utils import translation
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.settings import spectacular_settings
from drf_spectacular.views import SpectacularAPIView

logger = logging.getLogger("core.api.schema")

_lock = threading.Lock()
_schemas: dict[tuple, dict] = {}
generated = 0  # how many times this process generated a schema (tests read it)


def get_schema(version: str | None = None, *, request=None, urlconf=None) -> dict:
    """The schema for ``version`` in the active language, generated on the first call only."""
    global generated
    key = (version, translation.get_language(), urlconf)
    schema = _schemas.get(key)
    if schema is not None:
        return schema
    with _lock:
        if key not in _schemas:
            started = time.perf_counter()
            generator_class: type[SchemaGenerator] = spectacular_settings.DEFAULT_GENERATOR_CLASS
            generator = generator_class(urlconf=urlconf, api_version=version)
            _schemas[key] = generator.get_schema(request=request, public=True)
            generated += 1
            logger.info(
                "generated the OpenAPI schema (version %s) in %.2fs",
                version,
                time.perf_counter() - started,
            )
        return _schemas[key]


def warm() -> None:
    """Generate the default schema now (gunicorn's master calls this before forking). A failure
    is logged, never fatal: the web server must start; the first request retries (and shows the
    error)."""
    try:
        get_schema()
    except Exception:
        logger.exception("could not generate the OpenAPI schema at start-up")


def clear() -> None:
    _schemas.clear()


class CachedSpectacularAPIView(SpectacularAPIView):
    """drf-spectacular's schema view, serving the per-process schema instead of regenerating."""

    def _get_schema_response(self, request):
        from rest_framework.response import Response

        version = self.api_version or request.version or self._get_version_parameter(request)
        return Response(
            data=get_schema(version, request=None, urlconf=self.urlconf),
            headers={
                "Content-Disposition": f'inline; filename="{self._get_filename(request, version)}"'
            },
        )

"""JSON rendering with orjson (several times faster than ``json.dumps`` for list responses), and
DRF's browsable API for browsers.

``FastJSONRenderer`` comes first in ``DEFAULT_RENDERER_CLASSES``: a client that sends no
``Accept`` header, ``*/*`` or ``application/json`` gets JSON. Only ``Accept: text/html`` (a
browser) selects ``BrowsableAPIRenderer`` (``API_BROWSABLE``, default on).
"""

from __future__ import annotations

import contextvars
import datetime
import json
import logging
import uuid
from decimal import Decimal

import orjson
from rest_framework.renderers import BrowsableAPIRenderer as DRFBrowsableAPIRenderer
from rest_framework.renderers import JSONRenderer

__all__ = ["BrowsableAPIRenderer", "FastJSONRenderer", "dumps"]

logger = logging.getLogger(__name__)


def _default(value):
    """Types orjson doesn't know: decimals as plain strings, anything else (lazy translation
    strings, UUIDs in error details, ...) as ``str()``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _stdlib_default(value):
    """What orjson renders natively, rendered the same way by the standard library."""
    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return _default(value)


def dumps(data) -> bytes:
    """``data`` as JSON bytes; never fails on values the standard library can render.

    orjson stops at 254 levels and at integers beyond 64 bits. Input is held inside those limits
    (core.api.json_limits), but rows stored before the limits existed (or written by SQL) may
    not be: they fall back to the standard library, so one such row can't turn every list of its
    organization into a 500.
    """
    try:
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        logger.warning("orjson could not render a response (%s): using the standard library", exc)
        return json.dumps(
            data, default=_stdlib_default, ensure_ascii=False, separators=(",", ":")
        ).encode()


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return dumps(data)


class BrowsableAPIRenderer(DRFBrowsableAPIRenderer):
    """DRF's browsable API with raw JSON forms only.

    DRF's HTML forms and filter forms render a ``<select>`` of every object a related field's
    queryset holds, whichever organization it belongs to; the raw-data form shows the JSON body
    to send instead, so a page never lists another organization's rows. Errors stay JSON
    (``core.api.exceptions.exception_handler``), as everywhere under ``/api/``.
    """

    template = "core/browsable_api.html"  # a log out form without an inline handler (CSP)

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Rendering re-checks the view's permissions (which forms to show), and that publishes
        # the organization in its ContextVar again after the view has reset it: render in a
        # copy of the context, so nothing set here outlives the page.
        return contextvars.copy_context().run(
            super().render, data, accepted_media_type, renderer_context
        )

    def get_rendered_html_form(self, data, view, method, request):
        return None

    def get_filter_form(self, data, view, request):
        return None

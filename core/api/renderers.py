"""JSON rendering with orjson: several times faster than ``json.dumps`` for list responses."""

from decimal import Decimal

import orjson
from rest_framework.renderers import JSONRenderer


def _default(value):
    """Types orjson doesn't know: decimals as plain strings, anything else (lazy translation
    strings, UUIDs in error details, ...) as ``str()``."""
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class FastJSONRenderer(JSONRenderer):
    def render(self, data, accepted_media_type=None, renderer_context=None):
        if data is None:
            return b""
        return orjson.dumps(data, default=_default, option=orjson.OPT_NON_STR_KEYS)

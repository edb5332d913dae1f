"""Request parsers: DRF's, with hostile bodies answered 400 instead of 500."""

from __future__ import annotations

from rest_framework import parsers
from rest_framework.exceptions import ParseError

__all__ = ["JSONParser"]


class JSONParser(parsers.JSONParser):
    """DRF's JSONParser (strict: no NaN/Infinity), plus a clean 400 for a body nested so deeply
    that the standard library's parser exhausts the stack (a RecursionError is no ValueError,
    so DRF would let it escape as a 500)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
        # A body that parsed but is nested near the interpreter's limit would overflow the stack
        # later (DRF's JSONField re-encodes values to check them): refuse it here. Values deeper
        # than json_limits.MAX_DEPTH but within this are refused by the serializers, naming the
        # field.
        if _deeper_than(data, PARSE_MAX_DEPTH):
            raise ParseError(TOO_DEEP)
        return data


PARSE_MAX_DEPTH = 200
TOO_DEEP = "JSON parse error - the body is nested too deeply."


def _deeper_than(value, limit: int) -> bool:
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False

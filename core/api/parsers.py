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
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - the body is nested too deeply.") from None

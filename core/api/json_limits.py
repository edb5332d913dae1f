"""Limits every JSON input must meet, so that what is stored can always be rendered again.

Requests are parsed by the standard library (about 1,000 levels deep, integers of any size) but
responses are rendered by orjson (254 levels, signed 64-bit integers). A value accepted beyond
orjson's limits would be stored and then fail to render for every reader of the organization, so
input is held to limits well inside both (docs/api.md, "Limits of JSON values").
"""

from __future__ import annotations

import math

__all__ = ["MAX_DEPTH", "MAX_INT", "MIN_INT", "violation"]

MAX_DEPTH = 32
MIN_INT = -(2**63)
MAX_INT = 2**63 - 1


def violation(value) -> str | None:
    """Why ``value`` (parsed JSON) breaks a limit, or ``None`` when it is within all of them.

    Walks the value iteratively: a hostile payload must not be able to exhaust the stack here.
    """
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > MAX_DEPTH:
                return f"Nesting is deeper than {MAX_DEPTH} levels."
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, bool):
            continue
        elif isinstance(item, int):
            if not MIN_INT <= item <= MAX_INT:
                return (
                    f"The integer {item} is outside the signed 64-bit range "
                    f"({MIN_INT} to {MAX_INT}); send it as a string."
                )
        elif isinstance(item, float) and not math.isfinite(item):
            return "Numbers must be finite (no NaN or Infinity)."
    return None

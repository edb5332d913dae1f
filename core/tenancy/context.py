"""The organization a request (or task) runs in.

``OrganizationContext`` is resolved once per request by the API's permission class and kept on
the view; it is also published in a ContextVar so code far from the view (logging, services) can
read it. The ContextVar is reset when the request ends, so it never leaks between requests.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class OrganizationContext:
    organization_id: int
    organization_slug: str
    role: str
    permissions: frozenset[str]

    def has(self, *permissions: str) -> bool:
        return all(p in self.permissions for p in permissions)


_current: ContextVar[OrganizationContext | None] = ContextVar("erp_organization", default=None)


def get_current_organization() -> OrganizationContext | None:
    return _current.get()


@contextlib.contextmanager
def organization_scope(context: OrganizationContext | None) -> Iterator[None]:
    token = _current.set(context)
    try:
        yield
    finally:
        _current.reset(token)

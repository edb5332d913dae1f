"""The caller's memberships (organization, role, permissions), cached in the ``permissions`` alias.

One entry per (user, organization slug or "*"), stored with two generations: the user's (bumped
on any change to one of their memberships) and a global one (bumped when a role's permissions,
an organization's slug, or the roles after ``migrate`` change). Both are bumped immediately and
again after commit (``core.redis.generations``), so the user's very next request sees the change.

With Redis down the loader (one SQL query) answers every request: correct, never stale.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from django.conf import settings

from core.redis.generations import bump_now_and_on_commit, note, read, store
from core.redis.keys import digest, make_key

from .context import OrganizationContext

ALIAS = "permissions"
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,100}")
GLOBAL_GENERATION = make_key("gen", "perm", "all")


def user_generation_key(user_id: int) -> str:
    return make_key("gen", "perm", "user", user_id)


def entry_key(user_id: int, slug: str | None) -> str:
    # The slug comes from a request header: anything that isn't a plain slug is hashed.
    part = slug if slug is None or _SLUG.fullmatch(slug) else digest(slug)
    return make_key("perm", user_id, part or "*")


def cached_memberships(
    user_id: int, slug: str | None, load: Callable[[], list[OrganizationContext]]
) -> list[OrganizationContext]:
    if not settings.PERMISSION_CACHE_ENABLED:
        return load()
    lookup = read_entry(user_id, slug)
    # For the front response cache: the answer below (cached or loaded after the read) stays
    # right while these generations are current (core.api.front_cache).
    note("membership")
    if lookup.hit:
        return [OrganizationContext(*row) for row in lookup.value]
    contexts = load()
    if contexts:
        # Only memberships are cached: "not a member" answers go to the database every time,
        # so requests naming random organizations can't fill the cache.
        rows = tuple(
            (c.organization_id, c.organization_slug, c.role, c.permissions) for c in contexts
        )
        store(ALIAS, entry_key(user_id, slug), lookup, rows)
    return contexts


def invalidate_users(user_ids) -> None:
    keys = [user_generation_key(uid) for uid in sorted({u for u in user_ids if u is not None})]
    bump_now_and_on_commit(ALIAS, *keys)


def invalidate_all_permissions() -> None:
    bump_now_and_on_commit(ALIAS, GLOBAL_GENERATION)


def read_entry(user_id: int, slug: str | None):
    """The raw cache lookup for (user, slug) (diagnostics and tests)."""
    return read(ALIAS, entry_key(user_id, slug), [user_generation_key(user_id), GLOBAL_GENERATION])

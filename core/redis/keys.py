"""Cache key builders: ``:``-joined parts, long or free-form parts hashed.

Django adds the alias's ``KEY_PREFIX`` (per environment, ``CACHE_KEY_PREFIX``) and version.
"""

from __future__ import annotations

import hashlib


def make_key(*parts: object) -> str:
    """``make_key("perm", 12, "acme")`` → ``"perm:12:acme"``."""
    return ":".join(str(part) for part in parts)


def digest(*parts: object, length: int = 24) -> str:
    """A short stable hash of ``parts`` (for query strings, permission sets, bodies)."""
    data = "\x1f".join(str(part) for part in parts).encode()
    return hashlib.blake2b(data, digest_size=16).hexdigest()[:length]

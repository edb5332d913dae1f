"""Building ``CACHES`` entries and derived Redis URLs from one ``REDIS_URL`` (used by settings).

One server, one logical database per use, so a ``FLUSHDB`` of a cache never touches the broker
and ``INFO keyspace`` shows each use separately:

====================  ==
``default`` cache      0
``permissions`` cache  1
``api_responses``      2
Celery broker          3
Celery results         4
====================  ==
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

REDIS_DATABASES = {
    "default": 0,
    "permissions": 1,
    "api_responses": 2,
    "celery_broker": 3,
    "celery_results": 4,
}


def url_with_db(url: str, db: int) -> str:
    """``url`` (``redis://`` or ``rediss://``, with password and query kept) on database ``db``."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss", "unix"}:
        raise ValueError(f"Not a Redis URL: {parts.scheme}://... (use redis:// or rediss://)")
    if parts.scheme == "unix":
        base, _, query = url.partition("?")
        params = [p for p in query.split("&") if p and not p.startswith("db=")]
        return f"{base}?{'&'.join([*params, f'db={db}'])}"
    return urlunsplit(parts._replace(path=f"/{db}"))


def cache_config(
    url: str,
    *,
    timeout: int,
    key_prefix: str,
    connect_timeout: float,
    socket_timeout: float,
    max_connections: int = 50,
    ignore_exceptions: bool = False,
) -> dict:
    """A django-redis ``CACHES`` entry with short timeouts: a dead Redis costs milliseconds.

    ``ignore_exceptions=False`` (``permissions``, ``api_responses``): errors reach
    ``core.redis.availability``, which logs once and makes callers fall back to the database
    (and keeps invalidations that could not be sent). ``True`` (``default``): plain
    ``cache.get``/``set`` calls anywhere in the code degrade to a miss / no-op while Redis is
    down, logged by django-redis, instead of failing the request.
    """
    options = {}
    if ignore_exceptions:
        options["IGNORE_EXCEPTIONS"] = True
    return {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": url,
        "TIMEOUT": timeout,
        "KEY_PREFIX": key_prefix,
        "OPTIONS": {
            "CLIENT_CLASS": "django_redis.client.DefaultClient",
            "SOCKET_CONNECT_TIMEOUT": connect_timeout,
            "SOCKET_TIMEOUT": socket_timeout,
            "CONNECTION_POOL_KWARGS": {"max_connections": max_connections},
            **options,
        },
    }

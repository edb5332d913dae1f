"""Connection URLs for Celery, derived from ``REDIS_URL`` unless given explicitly.

Redis logical databases (one Redis server, separate keyspaces so ``FLUSHDB`` of a cache can
never drop queued tasks): 0 default cache, 1 permissions, 2 api_responses, 3 broker, 4 results.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

BROKER_DB = 3
RESULTS_DB = 4


def redis_url_with_db(url: str, db: int) -> str:
    """``url`` with its database number replaced by ``db`` (query string and auth kept)."""
    parts = urlsplit(url)
    if parts.scheme not in {"redis", "rediss"}:
        raise ValueError(f"Not a redis:// URL: {url!r}")
    return urlunsplit(parts._replace(path=f"/{db}"))

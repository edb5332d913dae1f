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

from urllib.parse import quote, urlsplit, urlunsplit

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


# --- Redis Sentinel (REDIS_SENTINELS + REDIS_SENTINEL_MASTER; docs/caching.md "Redis Sentinel") ---


def parse_sentinels(value: str | list[str]) -> list[tuple[str, int]]:
    """``"h1:26379,h2:26379"`` (or a list of ``host:port``) -> ``[("h1", 26379), ...]``."""
    items = value.split(",") if isinstance(value, str) else value
    sentinels = []
    for item in (i.strip() for i in items):
        if not item:
            continue
        host, sep, port = item.rpartition(":")
        if not sep or not host or not port.isdigit():
            raise ValueError(
                f"REDIS_SENTINELS: {item!r} is not host:port (e.g. 10.0.0.1:26379,10.0.0.2:26379)"
            )
        sentinels.append((host.strip("[]"), int(port)))
    return sentinels


def sentinel_kwargs(*, password: str, connect_timeout: float, socket_timeout: float) -> dict:
    """Keyword arguments of the connections *to the sentinels* (redis-py ``sentinel_kwargs``)."""
    kwargs = {"socket_connect_timeout": connect_timeout, "socket_timeout": socket_timeout}
    if password:
        kwargs["password"] = password
    return kwargs


def sentinel_cache_config(
    master: str,
    db: int,
    *,
    sentinels: list[tuple[str, int]],
    sentinel_kwargs: dict,
    password: str = "",
    timeout: int,
    key_prefix: str,
    connect_timeout: float,
    socket_timeout: float,
    max_connections: int = 50,
    ignore_exceptions: bool = False,
) -> dict:
    """:func:`cache_config`, on the master that the sentinels name (django-redis's Sentinel support).

    ``LOCATION`` is one URL, ``redis://<master name>/<db>``, in a list: django-redis's
    ``SentinelClient`` turns a single *string* into a master pool plus a replica pool and sends
    reads to the replica; these caches hold invalidation generations and permission sets that
    must be read back right after they are written, so every command goes to the master.
    """
    config = cache_config(
        f"redis://{master}/{db}",
        timeout=timeout,
        key_prefix=key_prefix,
        connect_timeout=connect_timeout,
        socket_timeout=socket_timeout,
        max_connections=max_connections,
        ignore_exceptions=ignore_exceptions,
    )
    config["LOCATION"] = [config["LOCATION"]]
    config["OPTIONS"].update(
        {
            "CLIENT_CLASS": "django_redis.client.SentinelClient",
            "CONNECTION_FACTORY": "django_redis.pool.SentinelConnectionFactory",
            "SENTINELS": sentinels,
            "SENTINEL_KWARGS": sentinel_kwargs,
        }
    )
    if password:
        config["OPTIONS"]["PASSWORD"] = password
    return config


def sentinel_url(sentinels: list[tuple[str, int]], db: int, password: str = "") -> str:
    """kombu's / Celery's Sentinel URL: ``sentinel://[:pw@]h1:p1/db;sentinel://[:pw@]h2:p2/db``.

    The database (and the data nodes' password) go on every member: kombu reads them from the
    first, Celery's result backend from the first too, and the order is the operator's.
    """
    auth = f":{quote(password, safe='')}@" if password else ""
    return ";".join(f"sentinel://{auth}{_host(h)}:{p}/{db}" for h, p in sentinels)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host

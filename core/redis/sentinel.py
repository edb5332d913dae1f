"""Redis Sentinel at run time: which node is the master now, and do the sentinels agree.

The caches (django-redis ``SentinelClient``), the broker (kombu's ``sentinel://`` transport) and
the results (Celery's ``SentinelBackend``) find the master themselves (``config/settings/base.py``,
``core.redis.config``). Everything else that talks to Redis directly (the monitoring keys,
redelivery, ops history: ``core.celery_app.monitor.broker_redis``) gets its client from
:func:`client_for_url`, so it follows the same discovery: redis-py's
``Sentinel(...).master_for(...)``, nothing hand-written.

Readiness (``redis_sentinel``) shows the current master; ``manage.py doctor`` checks the quorum
(``SENTINEL CKQUORUM``; ``core.doctor.checks.sentinel_findings``). Both read :func:`state`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from django.conf import settings

from core.health.registry import register

if TYPE_CHECKING:  # redis-py is imported on first use (start-up registers the readiness check)
    import redis
    from redis.sentinel import Sentinel


def configured() -> bool:
    return bool(getattr(settings, "REDIS_SENTINELS", None))


def master_name() -> str:
    return settings.REDIS_SENTINEL_MASTER


@cache
def _manager(sentinels: tuple, sentinel_kwargs: tuple, connection_kwargs: tuple) -> Sentinel:
    from redis.backoff import NoBackoff
    from redis.retry import Retry
    from redis.sentinel import Sentinel

    # One try per sentinel: a dead one is skipped for the next, not retried with backoff.
    return Sentinel(
        list(sentinels),
        sentinel_kwargs={"retry": Retry(NoBackoff(), 0), **dict(sentinel_kwargs)},
        **dict(connection_kwargs),
    )


def manager(
    sentinels=None, *, sentinel_kwargs: dict | None = None, **connection_kwargs
) -> Sentinel:
    """A redis-py ``Sentinel`` (cached per arguments; its clients are fork-safe pools)."""
    sentinels = settings.REDIS_SENTINELS if sentinels is None else sentinels
    if sentinel_kwargs is None:
        sentinel_kwargs = settings.REDIS_SENTINEL_KWARGS
    return _manager(
        tuple(tuple(s) for s in sentinels),
        tuple(sorted(sentinel_kwargs.items())),
        tuple(sorted(connection_kwargs.items())),
    )


def client_for_url(url: str, *, options: dict, **kwargs) -> redis.Redis:
    """A redis-py client on the master behind a kombu/Celery ``sentinel://h1:p1/db;...`` URL.

    ``options`` are the transport options holding ``master_name`` and ``sentinel_kwargs``
    (``CELERY_BROKER_TRANSPORT_OPTIONS``); ``kwargs`` go to the master's connections (timeouts).
    """
    members = [urlsplit(chunk) for chunk in url.split(";") if chunk.strip()]
    first = members[0]
    db = int(first.path.strip("/") or 0)
    password = unquote(first.password) if first.password else None
    name = options.get("master_name")
    if not name:
        raise ValueError(
            "a sentinel:// broker URL needs the transport option master_name "
            "(set REDIS_SENTINEL_MASTER)"
        )
    sentinels = [(m.hostname, m.port or 26379) for m in members]
    return manager(sentinels, sentinel_kwargs=options.get("sentinel_kwargs") or {}).master_for(
        name, db=db, password=password, **kwargs
    )


@dataclass
class SentinelState:
    master: str = ""  # host:port the sentinels name (empty: none could say)
    sentinels: dict[str, str] = field(default_factory=dict)  # "host:port" -> "ok" | error
    quorum: str = ""  # SENTINEL CKQUORUM's answer (from the first sentinel that gave one)
    quorum_ok: bool = False

    @property
    def reachable(self) -> int:
        return sum(1 for value in self.sentinels.values() if value == "ok")


def state() -> SentinelState:
    """Ask each sentinel for the master's address, and the first that answers for CKQUORUM."""
    import redis

    result = SentinelState()
    name = master_name()
    for (host, port), client in zip(settings.REDIS_SENTINELS, manager().sentinels, strict=True):
        where = f"{host}:{port}"
        try:
            address = client.sentinel_get_master_addr_by_name(name, return_responses=True)
            if not address:
                raise LookupError(f"this sentinel does not monitor a master named {name!r}")
            result.sentinels[where] = "ok"
            result.master = result.master or f"{_text(address[0])}:{_text(address[1])}"
            if not result.quorum:
                result.quorum = ckquorum(client, name)
                result.quorum_ok = result.quorum.startswith("OK")
        except redis.ResponseError as exc:  # CKQUORUM answers an error when it does not hold
            result.sentinels.setdefault(where, "ok")
            result.quorum = result.quorum or str(exc)
        except (redis.RedisError, LookupError) as exc:
            result.sentinels[where] = f"{type(exc).__name__}: {exc}"[:200]
    return result


def ckquorum(client: redis.Redis, name: str) -> str:
    """``SENTINEL CKQUORUM <name>``'s answer as text ("OK 3 usable Sentinels..."); raises
    ``redis.ResponseError`` ("NOQUORUM ...") when the quorum does not hold. Sent as
    ``SENTINEL`` + arguments: redis-py's callback for ``SENTINEL CKQUORUM`` compares the answer
    with "OK" and so turns every success into ``False``."""
    return _text(client.execute_command("SENTINEL", "CKQUORUM", name))


def _text(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


class NoMaster(Exception):
    pass


@register("redis_sentinel")
def readiness() -> dict:
    """Not critical: the API serves from the database while no master is known."""
    if not configured():
        return {"configured": False}
    current = state()
    details = {
        "master_name": master_name(),
        "master": current.master,
        "sentinels": current.sentinels,
        "quorum": current.quorum,
    }
    if not current.master:
        raise NoMaster(
            f"no sentinel of REDIS_SENTINELS names a master {master_name()!r}: "
            + "; ".join(f"{k} {v}" for k, v in current.sentinels.items())
        )
    if not current.quorum_ok:
        raise NoMaster(f"master {current.master}, but no quorum to fail over: {current.quorum}")
    return details

"""The front of the response cache: a hit answered in one Redis round trip, before DRF runs.

A response-cache hit through DRF (``core.api.caching``) still builds a DRF request, negotiates,
authenticates (token cache), resolves the organization and permissions (permission cache) and
reads the response entry: three Redis round trips and most of DRF's dispatch. The front answers
the same request from one ``EVALSHA`` instead, without weakening any check:

- **Recording (the DRF path).** A GET to a cached ``list``/``retrieve`` runs DRF inside
  ``core.redis.generations.recording()``: every generation read (token, the caller's
  memberships and the global permission generation, the organization's response scope) is
  recorded with the values seen, and each layer declares what those reads cover — the token
  authenticator the identity (``"credential"``, with the token's expiry), the permission cache
  the organization, role and permission set (``"membership"``), the response cache its entry.
  If the DRF answer was a 200/304 from a stored entry, and all three are covered, a *front
  record* is stored under a key derived from everything the answer depends on: the
  ``Authorization`` and ``X-Organization`` headers (hashed; the token never appears in a key),
  scheme, host, path, raw query string and ``Accept`` — the response cache's ``Vary``.
- **Serving.** A GET with an ``Authorization`` header looks up its front record; one Lua script
  compares every recorded generation with its current value (across the ``permissions`` and
  ``api_responses`` databases) and returns the response entry only if none moved. Python then
  checks the token's expiry and the entry's own generations and answers exactly like the DRF
  hit (same body, ETag/304, headers). Anything else — no record, a moved generation (token
  revoked, user deactivated, membership removed or changed, role permissions changed, any write
  to the scope), an expired token, Redis down, bumps pending in this process — takes the DRF
  path, which answers 401/403/404 or recomputes, and records anew.

Every middleware still runs (X-Request-ID, metrics by route, security headers): the front is a
wrapper around the viewset's view function, in place of the ``csrf_exempt`` wrapper DRF puts
there, so other methods gain no stack frame. It is off for views with throttles (their
counters are not generation-keyed) and with ``API_RESPONSE_FRONT_CACHE_ENABLED=false``.

One round trip needs the ``permissions`` and ``api_responses`` aliases on one Redis server (the
default: one ``REDIS_URL``, a database each; Sentinel too), not Redis Cluster (the script reads
keys named in the record). Elsewhere (other servers, LocMem in tests) the same record is checked
with one cache read per key: still exact, just not one round trip.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time

from django.conf import settings
from django.core.cache import caches
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

from core.redis import generations
from core.redis.availability import CacheUnavailable, cache_errors, is_available, run
from core.redis.keys import make_key

logger = logging.getLogger("core.api")

ALIAS = "api_responses"  # front records live beside the response entries
CACHE_CONTROL = "private, no-cache"
VARY = ("Authorization", "X-Organization", "Accept")
VERSION = "f1"
# Headers the entry itself determines (set from it on every answer).
_FROM_ENTRY = frozenset({"content-type", "etag", "x-cache", "content-length"})

# KEYS[1]: the front record; ARGV[1]: the database of the response entries (this connection's).
# Record: entry key, then (database, key, value) per generation, then ".", then the Python
# part. Returns {python part, entry} if every generation still has its recorded value.
LUA = """
local record = redis.call('GET', KEYS[1])
if not record then return false end
local pos = 1
local function line()
  local stop = string.find(record, '\\n', pos, true)
  if not stop then return nil end
  local text = string.sub(record, pos, stop - 1)
  pos = stop + 1
  return text
end
local entry_key = line()
while true do
  local db = line()
  if db == nil then return false end
  if db == '.' then break end
  local key = line()
  local value = line()
  redis.call('SELECT', db)
  if redis.call('GET', key) ~= value then return false end
end
redis.call('SELECT', ARGV[1])
local entry = redis.call('GET', entry_key)
if not entry then return false end
return {string.sub(record, pos), entry}
"""
SHA = hashlib.sha1(LUA.encode()).hexdigest()

# Processes where the script can't run (an ACL without EVALSHA/SELECT, a proxy without
# scripting): the per-key check is used instead, logged once.
_script_refused = False
MISSING = object()


def _now() -> float:
    return time.time()


def enabled() -> bool:
    return settings.API_RESPONSE_CACHE_ENABLED and settings.API_RESPONSE_FRONT_CACHE_ENABLED


def note_entry(entry_key: str, entry_generations: tuple) -> None:
    """Called by the response cache when it answers from (or has just stored) an entry."""
    current = generations.current_recording()
    if current is not None:
        current.result = (entry_key, entry_generations)


def front_key(meta) -> str | None:
    """The record key of a request (from its WSGI environ / ``request.META``), or None when it
    can't take the front path (no ``Authorization`` header: session and anonymous callers).

    Built from the raw inputs (not ``request.get_host()``/``scheme``), so it can be computed
    when the request starts: every header and variable Django derives the scheme, host and
    path from is part of it, so two requests that share a key get the same absolute links.
    """
    authorization = meta.get("HTTP_AUTHORIZATION")
    if not authorization:
        return None
    proxy_ssl = settings.SECURE_PROXY_SSL_HEADER
    variant = "\x1f".join(
        (
            authorization,
            meta.get("HTTP_X_ORGANIZATION", ""),
            meta.get("HTTP_ACCEPT", ""),
            meta.get("wsgi.url_scheme", ""),
            meta.get(proxy_ssl[0], "") if proxy_ssl else "",
            meta.get("HTTP_HOST", ""),
            meta.get("HTTP_X_FORWARDED_HOST", ""),
            meta.get("HTTP_X_FORWARDED_PORT", ""),
            meta.get("SERVER_NAME", ""),
            str(meta.get("SERVER_PORT", "")),
            meta.get("SCRIPT_NAME", ""),
            meta.get("PATH_INFO", ""),
            meta.get("QUERY_STRING", ""),
        )
    )
    return make_key("front", hashlib.blake2b(variant.encode(), digest_size=20).hexdigest())


# --- the two stores: one Lua round trip on a shared Redis server, else per-key reads ----------


def _redis_pair():
    """``(api_responses raw client, its django-redis client, {alias: db})`` when both aliases are
    django-redis on one server; else None."""
    api, perms = caches[ALIAS], caches["permissions"]
    api_client, perm_client = getattr(api, "client", None), getattr(perms, "client", None)
    if not (hasattr(api_client, "get_client") and hasattr(perm_client, "get_client")):
        return None
    api_raw, perm_raw = api_client.get_client(write=True), perm_client.get_client(write=True)
    api_pool, perm_pool = api_raw.connection_pool, perm_raw.connection_pool
    key = (id(api_pool), id(perm_pool))
    found = _pairs.get(key)
    if found is None:
        dbs = {
            ALIAS: api_pool.connection_kwargs.get("db", 0),
            "permissions": perm_pool.connection_kwargs.get("db", 0),
        }
        found = _pairs[key] = (
            (api_raw, api_client, dbs) if _same_server(api_pool, perm_pool) else False
        )
    return found or None


_pairs: dict = {}
_SERVER = ("host", "port", "path", "username", "password")


def _same_server(one, other) -> bool:
    """Whether two redis-py pools reach the same server (databases may differ)."""
    if type(one) is not type(other) or one.connection_class is not other.connection_class:
        return False
    if getattr(one, "service_name", None) != getattr(other, "service_name", None):
        return False  # Sentinel: the same master name
    first, second = one.connection_kwargs, other.connection_kwargs
    return all(first.get(name) == second.get(name) for name in _SERVER)


def _encode_value(value) -> str:
    """A generation value as Redis holds it (django-redis stores integers as plain digits)."""
    return str(value)


def _load_lua(pair, key: str):
    """``(python part, entry)`` from one EVALSHA, or None."""
    from redis.exceptions import NoScriptError, ResponseError  # not at start-up (models)

    raw, client, dbs = pair
    args = (client.make_key(key), dbs[ALIAS])
    try:
        try:
            found = raw.evalsha(SHA, 1, *args)
        except NoScriptError:
            raw.script_load(LUA)
            found = raw.evalsha(SHA, 1, *args)
    except ResponseError as exc:
        global _script_refused
        _script_refused = True
        logger.warning("Front response cache: script refused (%s); checking key by key", exc)
        return None
    if not found:
        return None
    tail, entry = found
    return tail, client.decode(entry)


def _load_keys(key: str):
    """The same check without the script: the record, each generation, the entry."""
    record = caches[ALIAS].get(key)
    if not isinstance(record, tuple) or len(record) != 4 or record[0] != VERSION:
        return None
    _, entry_key, checks, tail = record
    for alias, gen_key, value in checks:
        current = caches[alias].get(gen_key)
        if current is None or _encode_value(current) != value:
            return None
    entry = caches[ALIAS].get(entry_key)
    if entry is None:
        return None
    return tail, entry


def _save(key: str, entry_key: str, checks: list, tail: str, timeout: float) -> None:
    pair = None if _script_refused else _redis_pair()
    if pair is None:
        caches[ALIAS].set(key, (VERSION, entry_key, checks, tail), timeout)
        return
    raw, client, dbs = pair
    lines = [client.make_key(entry_key)]
    for alias, gen_key, value in checks:
        lines += [str(dbs[alias]), caches[alias].client.make_key(gen_key), value]
    if any("\n" in part for part in lines):
        return  # a key prefix with a newline can't be framed: no record, DRF path every time
    record = "\n".join([*lines, ".", tail])
    raw.set(client.make_key(key), record.encode(), ex=max(1, int(timeout)))


def _etag_matches(request, etag: str) -> bool:
    header = request.META.get("HTTP_IF_NONE_MATCH", "")
    if not header:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in header.split(",")}
    return "*" in candidates or etag in candidates


def response_from_entry(request, entry, *, hit: bool) -> HttpResponse:
    """The answer for a cached ``(body, content type, ETag)`` (304 if ``If-None-Match`` matches)."""
    body, content_type, etag = entry
    if _etag_matches(request, etag):
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type=content_type)
    response["ETag"] = etag
    response["Cache-Control"] = CACHE_CONTROL
    response["X-Cache"] = "HIT" if hit else "MISS"
    patch_vary_headers(response, VARY)
    return response


# --- prefetch: the script is sent when the request starts, its reply read in the view ------
#
# A blocking round trip is the front's main cost on a busy machine: the worker sleeps until
# redis-server runs. Sent from Django's ``request_started`` signal (no middleware, no stack
# frame), the script runs while the middleware and URL resolution do; the view then usually
# finds the reply already there. Only GETs under a path prefix where this process has recorded
# a front are prefetched; a reply the view didn't take is read at ``request_finished``.

_local = threading.local()
_prefixes: tuple[str, ...] = ()


def _prefix_of(path: str) -> str:
    """``/api/v1/products/12/`` -> ``/api/v1/products/`` (the first three segments)."""
    parts = path.split("/", 4)
    return "/".join(parts[:4]) + "/" if len(parts) > 4 else path


def _learn(path: str) -> None:
    global _prefixes
    prefix = _prefix_of(path)
    if prefix not in _prefixes:
        _prefixes = (*_prefixes, prefix)


def _usable() -> bool:
    """No bumps owed to Redis by this process, and neither alias in its failure window."""
    if generations._pending.get(ALIAS) or generations._pending.get("permissions"):
        return False
    return is_available(ALIAS) and is_available("permissions")


def prefetch(sender, environ=None, **kwargs) -> None:
    """``request_started``: send this request's front lookup without waiting for the reply."""
    _local.inflight = None
    if not _prefixes or environ is None or environ.get("REQUEST_METHOD") != "GET":
        return
    if not environ.get("PATH_INFO", "").startswith(_prefixes) or not enabled():
        return
    key = front_key(environ)
    if key is None or _script_refused or not _usable():
        return
    pair = _redis_pair()
    if pair is None:
        return
    raw, client, dbs = pair
    pool = raw.connection_pool

    def send(cache):
        connection = pool.get_connection()
        try:
            connection.send_command("EVALSHA", SHA, 1, client.make_key(key), dbs[ALIAS])
        except BaseException:
            connection.disconnect()
            pool.release(connection)
            raise
        return connection

    try:
        connection = run(ALIAS, send)  # a failure opens the breaker, as any lookup's would
    except CacheUnavailable:
        return
    _local.inflight = (key, connection, pool, client)


def _take_inflight(key: str):
    """The prefetched reply for ``key`` as ``_load_lua`` returns it; ``MISSING`` if none."""
    inflight = getattr(_local, "inflight", None)
    if inflight is None:
        return MISSING
    _local.inflight = None
    sent_key, connection, pool, client = inflight
    found = _read_reply(connection, pool)
    if sent_key != key or found is MISSING:
        return MISSING
    if not found:
        return None
    tail, entry = found
    return tail, client.decode(entry)


def _read_reply(connection, pool):
    from redis.exceptions import NoScriptError, ResponseError

    try:
        found = connection.read_response()
    except NoScriptError:
        found = MISSING  # not loaded on this server yet: the view's EVALSHA path loads it
    except ResponseError:
        found = MISSING
    except BaseException:
        connection.disconnect()
        pool.release(connection)
        raise
    pool.release(connection)
    return found


def finish(sender, **kwargs) -> None:
    """``request_finished``: read (and drop) a prefetched reply no view took."""
    inflight = getattr(_local, "inflight", None)
    if inflight is None:
        return
    _local.inflight = None
    try:
        _read_reply(inflight[1], inflight[2])
    except cache_errors():
        pass


def connect_signals() -> None:
    from django.core.signals import request_finished, request_started

    request_started.connect(prefetch, dispatch_uid="core.api.front_cache.prefetch")
    request_finished.connect(finish, dispatch_uid="core.api.front_cache.finish")


# --- serving and recording --------------------------------------------------------------------


def serve(request, key: str):
    """The cached answer for ``request`` if its front record is current, else None."""
    if not _usable():
        return None  # e.g. bumps this process owes Redis: the DRF path replays them first

    def op(cache):
        found = _take_inflight(key)
        if found is not MISSING:
            return found
        pair = None if _script_refused else _redis_pair()
        return _load_lua(pair, key) if pair is not None else _load_keys(key)

    try:
        found = run(ALIAS, op)
    except CacheUnavailable:
        return None
    if found is None:
        return None
    tail, entry = found
    expires_at, entry_generations, headers = json.loads(tail)
    if expires_at is not None and expires_at <= _now():
        return None  # the token expired: the DRF path deletes it and answers 401
    if not (isinstance(entry, tuple) and len(entry) == 2 and list(entry[0]) == entry_generations):
        return None
    response = response_from_entry(request, entry[1], hit=True)
    for name, value in headers:
        response[name] = value
    return response


def record(request, key: str, recording: generations.Recording, response) -> None:
    """Store the front record of a DRF answer, if everything it depended on was recorded."""
    if response.status_code not in (200, 304) or recording.result is None:
        return
    if not {"credential", "membership"} <= recording.facets:
        return
    if generations.in_application_transaction():
        return
    seen: dict[tuple[str, str], str] = {}
    for alias, keys, values in recording.reads:
        if values is None:
            return  # a cache was unusable for part of the answer
        for gen_key, value in zip(keys, values, strict=True):
            encoded = _encode_value(value)
            if seen.setdefault((alias, gen_key), encoded) != encoded:
                return  # a generation moved during the request: nothing to record
    checks = [(alias, gen_key, value) for (alias, gen_key), value in seen.items()]
    entry_key, entry_generations = recording.result
    timeout = caches[ALIAS].default_timeout
    if recording.expires_at is not None:
        timeout = min(timeout, recording.expires_at - _now())
    if timeout < 1:
        return
    headers = [(name, value) for name, value in response.items() if name.lower() not in _FROM_ENTRY]
    tail = json.dumps([recording.expires_at, list(entry_generations), headers])
    try:
        run(ALIAS, lambda cache: _save(key, entry_key, checks, tail, timeout))
    except CacheUnavailable:
        return
    _learn(request.path_info)


def wrap(view):
    """The viewset's view function with the front in front (GET only)."""
    inner = getattr(view, "__wrapped__", view)  # DRF's view, without csrf_exempt's wrapper
    view_class = view.cls

    def front_view(request, *args, **kwargs):
        if request.method != "GET" or view_class.throttle_classes or not enabled():
            finish(None)  # a prefetched reply (if any) is not for this view
            return inner(request, *args, **kwargs)
        key = front_key(request.META)
        if key is None:
            finish(None)
            return inner(request, *args, **kwargs)
        response = serve(request, key)
        if response is not None:
            return response
        with generations.recording() as recorded:
            response = inner(request, *args, **kwargs)
        record(request, key, recorded, response)
        return response

    front_view.__dict__.update(view.__dict__)
    front_view.__wrapped__ = inner
    front_view.csrf_exempt = True
    front_view.__name__ = getattr(view, "__name__", "view")
    front_view.__qualname__ = getattr(view, "__qualname__", "view")
    front_view.__module__ = getattr(view, "__module__", __name__)
    front_view.__doc__ = view.__doc__
    return front_view


__all__ = [
    "connect_signals",
    "enabled",
    "finish",
    "front_key",
    "note_entry",
    "prefetch",
    "record",
    "serve",
    "wrap",
]

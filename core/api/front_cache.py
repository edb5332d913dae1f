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
import time

from django.conf import settings
from django.core.cache import caches
from django.core.exceptions import DisallowedHost
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers
from redis.exceptions import NoScriptError, ResponseError

from core.redis import generations
from core.redis.availability import CacheUnavailable, is_available, run
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


def _now() -> float:
    return time.time()


def enabled() -> bool:
    return settings.API_RESPONSE_CACHE_ENABLED and settings.API_RESPONSE_FRONT_CACHE_ENABLED


def note_entry(entry_key: str, entry_generations: tuple) -> None:
    """Called by the response cache when it answers from (or has just stored) an entry."""
    current = generations.current_recording()
    if current is not None:
        current.result = (entry_key, entry_generations)


def front_key(request, scope: str) -> str | None:
    """The record key of this request, or None when it can't take the front path."""
    meta = request.META
    authorization = meta.get("HTTP_AUTHORIZATION")
    if not authorization:
        return None  # session callers and anonymous ones: DRF decides
    try:
        host = request.get_host()
    except DisallowedHost:
        return None  # DRF's path answers it (400)
    variant = "\x1f".join(
        (
            authorization,
            meta.get("HTTP_X_ORGANIZATION", ""),
            request.scheme,
            host,
            request.path,
            meta.get("QUERY_STRING", ""),
            meta.get("HTTP_ACCEPT", ""),
        )
    )
    return make_key("front", scope, hashlib.blake2b(variant.encode(), digest_size=20).hexdigest())


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


def _encode_value(alias: str, value) -> str:
    """A generation value as Redis holds it (django-redis stores integers as plain digits)."""
    return str(value)


def _load_lua(pair, key: str):
    """``(python part, entry)`` from one EVALSHA, or None."""
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
        if current is None or _encode_value(alias, current) != value:
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


# --- serving and recording --------------------------------------------------------------------


def serve(request, key: str):
    """The cached answer for ``request`` if its front record is current, else None."""
    if generations._pending.get(ALIAS) or generations._pending.get("permissions"):
        return None  # bumps this process owes Redis: the DRF path replays them first
    if not is_available("permissions"):
        return None

    def op(cache):
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
            encoded = _encode_value(alias, value)
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
        pass


def wrap(view, scope: str):
    """The viewset's view function with the front in front (GET only)."""
    inner = getattr(view, "__wrapped__", view)  # DRF's view, without csrf_exempt's wrapper
    view_class = view.cls

    def front_view(request, *args, **kwargs):
        if request.method != "GET" or view_class.throttle_classes or not enabled():
            return inner(request, *args, **kwargs)
        key = front_key(request, scope)
        if key is None:
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


__all__ = ["enabled", "front_key", "note_entry", "record", "serve", "wrap"]

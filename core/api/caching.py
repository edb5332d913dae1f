"""Response caching for organization-scoped read endpoints (``api_responses`` alias).

Usage (the products viewset does exactly this)::

    PRODUCT_RESPONSES = ResponseCacheScope("products")   # next to the model

    class ProductQuerySet(OrganizationResponseCacheQuerySet):
        response_cache_scope = PRODUCT_RESPONSES          # every write invalidates

    class ProductViewSet(CachedResponseMixin, mixins.ListModelMixin, ..., OrganizationScopedViewSet):
        response_cache_scope = PRODUCT_RESPONSES

What makes it safe:

- the lookup happens *after* authentication and the permission check (DRF's ``initial()``), so
  a caller who lost access is refused before any cache is consulted;
- the key holds the organization, a hash of the caller's role and permission set, scheme, host
  (pagination links are absolute), path, the normalized query string and the media type: no
  response of one organization or role is ever served to another;
- entries are stored with the organization's generation for the scope; any write to a row of
  the scope (``save``/``delete`` signals, and ``update``/``bulk_update``/``bulk_create``/queryset
  ``delete`` through ``core.db.invalidation``) bumps it, immediately and after commit;
- a miss on a guarded action (the list) takes an ``add``-based lock: concurrent misses wait for
  the first one's result instead of all querying the database (stampede protection);
- with Redis down every request is computed as if uncached (``core.redis.availability``).

A repeated GET is answered before DRF runs, in one Redis round trip, by ``core.api.front_cache``
(``as_view`` below wraps the view): it replays the checks this path recorded — token, membership
and permission set, the response's generation — and falls back to this path when any moved.

Responses carry ``Cache-Control: private, no-cache``, ``Vary`` and a strong ``ETag``;
``If-None-Match`` with a current ETag answers 304 without a body.
"""

from __future__ import annotations

import hashlib
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpResponse

from core.db.invalidation import InvalidatingQuerySet
from core.redis.generations import Lookup, bump_now_and_on_commit, read, store, wait_for
from core.redis.keys import digest, make_key
from core.redis.locks import cache_lock
from core.tenancy.querysets import OrganizationScopedQuerySet

from . import front_cache
from .front_cache import response_from_entry

ALIAS = "api_responses"
LOCK_TIMEOUT = 10  # seconds; outlives any sane computation, bounds a crashed holder


class ResponseCacheScope:
    """A named family of cached responses with one generation per organization."""

    def __init__(self, name: str):
        self.name = name

    def generation_key(self, organization_id: int) -> str:
        return make_key("gen", "resp", self.name, organization_id)

    def invalidate(self, organization_ids) -> None:
        keys = [self.generation_key(o) for o in sorted({o for o in organization_ids if o})]
        bump_now_and_on_commit(ALIAS, *keys)


class OrganizationResponseCacheQuerySet(InvalidatingQuerySet, OrganizationScopedQuerySet):
    """Queryset of an organization-scoped model whose responses are cached."""

    cache_scope_field = "organization_id"
    response_cache_scope: ResponseCacheScope

    @classmethod
    def invalidate_cache(cls, scopes) -> None:
        cls.response_cache_scope.invalidate(scopes)


def normalized_query(request) -> str:
    """Keys sorted, the order of a repeated key's values kept (``QueryDict.get`` takes the last)."""
    pairs = sorted(request.query_params.lists(), key=lambda item: item[0])
    return urlencode([(key, value) for key, values in pairs for value in values])


class CachedResponseMixin:
    """Caches ``list``/``retrieve`` of an ``OrganizationScopedViewSet`` (put it first in bases)."""

    response_cache_scope: ResponseCacheScope
    stampede_guarded_actions: tuple[str, ...] = ("list",)

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)
        if actions and actions.get("get") in ("list", "retrieve"):
            # Hits answered before DRF runs, in one Redis round trip (core.api.front_cache).
            view = front_cache.wrap(view)
        return view

    def list(self, request, *args, **kwargs):
        return self.cached_response(super().list, request, *args, **kwargs)

    def retrieve(self, request, *args, **kwargs):
        return self.cached_response(super().retrieve, request, *args, **kwargs)

    def response_cache_key(self, request) -> str:
        context = self.organization_context
        permissions = digest(context.role, *sorted(context.permissions))
        variant = digest(
            request.scheme,
            request.get_host(),
            request.path,
            normalized_query(request),
            request.accepted_media_type,
        )
        return make_key(
            "resp", self.response_cache_scope.name, self.organization_id, permissions, variant
        )

    def cached_response(self, handler, request, *args, **kwargs):
        # JSON only: the browsable API's HTML page is per user and needs the live response.
        if not settings.API_RESPONSE_CACHE_ENABLED or request.accepted_renderer.format != "json":
            return handler(request, *args, **kwargs)
        key = self.response_cache_key(request)
        generations = [self.response_cache_scope.generation_key(self.organization_id)]
        lookup = read(ALIAS, key, generations)
        if lookup.hit:
            front_cache.note_entry(key, lookup.generations)
            return self._from_entry(request, lookup.value, hit=True)
        if lookup.generations is None or self.action not in self.stampede_guarded_actions:
            return self._compute(handler, request, key, lookup, *args, **kwargs)
        with cache_lock(ALIAS, make_key(key, "lock"), timeout=LOCK_TIMEOUT) as acquired:
            if acquired:
                # Another request may have filled it between our read and the lock.
                again = read(ALIAS, key, generations)
                if again.hit:
                    front_cache.note_entry(key, again.generations)
                    return self._from_entry(request, again.value, hit=True)
            else:
                waited = wait_for(
                    ALIAS, key, generations, seconds=settings.API_RESPONSE_CACHE_LOCK_WAIT
                )
                if waited is not None and waited.hit:
                    front_cache.note_entry(key, waited.generations)
                    return self._from_entry(request, waited.value, hit=True)
            return self._compute(handler, request, key, lookup, *args, **kwargs)

    def _compute(self, handler, request, key: str, lookup: Lookup, *args, **kwargs):
        response = handler(request, *args, **kwargs)
        from rest_framework.response import Response  # per request; models import this module

        if not isinstance(response, Response) or response.status_code != 200:
            return response
        renderer = request.accepted_renderer
        body = renderer.render(
            response.data, request.accepted_media_type, self.get_renderer_context()
        )
        content_type = request.accepted_media_type
        if renderer.charset:
            content_type = f"{content_type}; charset={renderer.charset}"
        body = bytes(body)
        entry = (body, content_type, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')
        if store(ALIAS, key, lookup, entry):
            front_cache.note_entry(key, lookup.generations)
        return self._from_entry(request, entry, hit=False)

    def _from_entry(self, request, entry, *, hit: bool) -> HttpResponse:
        return response_from_entry(request, entry, hit=hit)

"""Token authentication with the token → user lookup cached in the ``permissions`` alias.

DRF's ``TokenAuthentication`` runs ``SELECT token JOIN user`` on every request; compiling and
running it is the largest fixed cost of a warm, permission-cached request. Here the active user
behind a token is cached under a generation key of that token (``core.redis.generations``), so
invalidation is exact and immediate:

- deleting or replacing the token, and any write to the user (``save()``, ``delete()``, and the
  queryset's ``update()``/``delete()``, e.g. ``is_active=False``), bump the generation of the
  user's tokens, now and again after commit;
- the cache key is a hash of the token, never the token itself;
- inactive users are never cached (the database path rejects them every time);
- with Redis unreachable every request takes the database path (correct, never stale).
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import authentication
from rest_framework.authtoken.models import Token

from core.redis.generations import bump_now_and_on_commit, read, store
from core.redis.keys import digest, make_key

ALIAS = "permissions"


def token_generation_key(token_key: str) -> str:
    return make_key("gen", "auth", "token", digest(token_key, length=32))


def token_entry_key(token_key: str) -> str:
    return make_key("auth", "token", digest(token_key, length=32))


def invalidate_tokens(token_keys) -> None:
    keys = sorted({token_generation_key(k) for k in token_keys})
    if keys:
        bump_now_and_on_commit(ALIAS, *keys)


def invalidate_user_tokens(user_ids) -> None:
    user_ids = {u for u in user_ids if u is not None}
    if user_ids:
        invalidate_tokens(Token.objects.filter(user_id__in=user_ids).values_list("key", flat=True))


class CachedTokenAuthentication(authentication.TokenAuthentication):
    """``Authorization: Token <key>``; answers exactly like DRF's class (401 for unknown keys or
    inactive users)."""

    def authenticate_credentials(self, key):
        if not settings.AUTH_TOKEN_CACHE_ENABLED:
            return super().authenticate_credentials(key)
        lookup = read(ALIAS, token_entry_key(key), [token_generation_key(key)])
        if lookup.hit:
            user = lookup.value
            return user, Token(key=key, user=user)
        user, token = super().authenticate_credentials(key)  # raises for unknown/inactive
        store(ALIAS, token_entry_key(key), lookup, user)
        return user, token

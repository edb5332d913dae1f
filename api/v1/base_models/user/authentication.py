"""Token authentication: django-rest-knox tokens, the token → user lookup cached in ``permissions``.

Tokens (knox): each login creates a new one, valid ``TOKEN_TTL`` seconds (default 30 days); the
database keeps only its SHA-512 digest (``knox_authtoken.digest``) and its first 15 characters
(``token_key``, the lookup index), never a usable key. ``Authorization: Token <key>``.

knox's lookup runs ``SELECT token JOIN user`` plus a scan of the user's other tokens (expired ones
are deleted) on every request; here the active user behind a token is cached under a generation
key of that token's digest (``core.redis.generations``), so invalidation is exact and immediate:

- deleting a token (logout, expiry, admin) and any write to the user (``save()``, ``delete()``,
  and the queryset's ``update()``/``delete()``, e.g. ``is_active=False``) bump the generation of
  the user's tokens, now and again after commit;
- the cache key is derived from the digest, never the token itself;
- the cached entry holds the expiry: an expired token takes the database path (which deletes it);
- inactive users are never cached (the database path rejects them every time);
- with Redis unreachable every request takes the database path (correct, never stale).
"""

from __future__ import annotations

import binascii

from django.conf import settings
from django.utils import timezone
from knox.auth import TokenAuthentication
from knox.crypto import hash_token
from knox.models import AuthToken
from knox.settings import CONSTANTS
from rest_framework import exceptions

from core.redis.generations import (
    bump_now_and_on_commit,
    note,
    read,
    store,
)
from core.redis.keys import make_key

ALIAS = "permissions"


def token_generation_key(digest: str) -> str:
    return make_key("gen", "auth", "token", digest[:32])


def token_entry_key(digest: str) -> str:
    return make_key("auth", "token", digest[32:64])


def invalidate_tokens(digests) -> None:
    keys = sorted({token_generation_key(d) for d in digests})
    if keys:
        bump_now_and_on_commit(ALIAS, *keys)


def invalidate_user_tokens(user_ids) -> None:
    user_ids = {u for u in user_ids if u is not None}
    if user_ids:
        invalidate_tokens(
            AuthToken.objects.filter(user_id__in=user_ids).values_list("digest", flat=True)
        )


def digest_of(key: str) -> str:
    try:
        return hash_token(key)
    except (TypeError, ValueError, binascii.Error, UnicodeError):
        raise exceptions.AuthenticationFailed("Invalid token.") from None


def _note(expiry) -> None:
    """For the front response cache (core.api.front_cache): this identity follows from the
    ``Authorization`` header alone, stays valid while the token generation just read is current
    (revocation and user changes bump it), and only until ``expiry``."""
    note("credential", expires_at=expiry)


class CachedTokenAuthentication(TokenAuthentication):
    """``Authorization: Token <key>``; answers exactly like knox's class (401 for unknown,
    expired or revoked keys and inactive users)."""

    def authenticate_credentials(self, token: bytes):
        if not settings.AUTH_TOKEN_CACHE_ENABLED:
            return super().authenticate_credentials(token)
        try:
            key = token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        digest = digest_of(key)
        lookup = read(ALIAS, token_entry_key(digest), [token_generation_key(digest)])
        if lookup.hit:
            user, expiry = lookup.value
            if expiry is None or expiry > timezone.now():
                _note(expiry)
                return user, AuthToken(
                    digest=digest,
                    token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                    user=user,
                    expiry=expiry,
                )
        user, auth_token = super().authenticate_credentials(token)  # raises for bad tokens
        store(ALIAS, token_entry_key(digest), lookup, (user, auth_token.expiry))
        _note(auth_token.expiry)
        return user, auth_token

    def _cleanup_token(self, auth_token) -> bool:
        """Only this token's expiry (knox also scans all the user's other tokens, a query per
        request); the others are deleted by the daily ``delete_expired_tokens`` task."""
        if auth_token.expiry is not None and auth_token.expiry < timezone.now():
            auth_token.delete()
            return True
        return False

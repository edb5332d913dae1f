"""API tokens (issue 12, "Tokens"): django-rest-knox, hashed, one per login, TOKEN_TTL expiry,
logout revokes the presented token; legacy DRF tokens are hashed over by migration 0003."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken

from api.v1.base_models.user.tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
TOKEN, LOGOUT, ME = "/api/v1/auth/token/", "/api/v1/auth/logout/", "/api/v1/me/"


def login(client, username="alice") -> dict:
    response = client.post(TOKEN, {"username": username, "password": PASSWORD})
    assert response.status_code == 200, response.content
    return response.json()


def authed(client, token: str):
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def test_login_answers_token_and_expires_at_after_token_ttl(api_client, settings):
    UserFactory(username="alice")
    before = timezone.now()
    body = login(api_client)
    assert set(body) == {"token", "expires_at"}
    expires_at = parse_datetime(body["expires_at"])
    assert settings.TOKEN_TTL == 30 * 24 * 3600  # the default: 30 days
    ttl = timedelta(seconds=settings.TOKEN_TTL)
    assert before + ttl <= expires_at <= timezone.now() + ttl
    assert authed(api_client, body["token"]).get(ME).status_code == 200


def test_the_database_never_holds_a_usable_key(api_client):
    UserFactory(username="alice")
    token = login(api_client)["token"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM knox_authtoken")
        stored = [str(value) for row in cursor.fetchall() for value in row]
    assert not any(token in value for value in stored)
    assert not any(value == token for value in stored)
    # Only the 15-character lookup prefix and the SHA-512 digest are there.
    row = AuthToken.objects.get()
    assert len(row.digest) == 128 and row.token_key == token[:15] and len(token) == 64
    assert "authtoken_token" not in connection.introspection.table_names()


def test_each_login_creates_a_new_token_and_both_work(api_client):
    from rest_framework.test import APIClient

    UserFactory(username="alice")
    first, second = login(api_client)["token"], login(api_client)["token"]
    assert first != second
    assert AuthToken.objects.count() == 2
    assert authed(APIClient(), first).get(ME).status_code == 200
    assert authed(APIClient(), second).get(ME).status_code == 200


def test_logout_revokes_only_the_presented_token(api_client):
    from rest_framework.test import APIClient

    UserFactory(username="alice")
    first, second = login(api_client)["token"], login(api_client)["token"]
    client = authed(APIClient(), first)
    assert client.get(ME).status_code == 200  # warm: the lookup is cached now
    assert client.post(LOGOUT).status_code == 204
    assert client.get(ME).status_code == 401
    assert client.post(LOGOUT).status_code == 401
    assert authed(APIClient(), second).get(ME).status_code == 200


def test_logout_needs_a_token(api_client):
    assert api_client.post(LOGOUT).status_code == 401


def test_an_expired_token_is_refused_also_when_cached(api_client):
    import time

    user = UserFactory(username="alice")
    _, token = AuthToken.objects.create(user=user, expiry=timedelta(seconds=1))
    client = authed(api_client, token)
    assert client.get(ME).status_code == 200  # cached, with its expiry
    time.sleep(1.2)
    assert client.get(ME).status_code == 401  # the cached expiry refuses it
    assert AuthToken.objects.count() == 0  # the database path deleted it


def test_token_ttl_setting_sets_the_expiry(api_client, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": timedelta(seconds=60)}
    UserFactory(username="alice")
    expires_at = parse_datetime(login(api_client)["expires_at"])
    assert timedelta(seconds=50) < expires_at - timezone.now() <= timedelta(seconds=60)


def test_expired_tokens_are_deleted_by_the_cleanup_task():
    from api.v1.base_models.user.tasks import delete_expired_tokens

    user = UserFactory()
    AuthToken.objects.create(user=user, expiry=timedelta(seconds=-10))
    live, _ = AuthToken.objects.create(user=user)
    assert delete_expired_tokens() == 1
    assert list(AuthToken.objects.values_list("digest", flat=True)) == [live.digest]


def test_legacy_plaintext_tokens_are_hashed_over_and_their_table_dropped(api_client, settings):
    """Migration users.0003 on a database that still has DRF's authtoken_token."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module(
        "api.v1.base_models.user.migrations.0003_hash_legacy_tokens"
    )
    user = UserFactory(username="legacy")
    legacy_key = "0123456789abcdef0123456789abcdef01234567"  # DRF: 40 hex digits
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamptz NOT NULL, user_id bigint NOT NULL)"
        )
        cursor.execute("INSERT INTO authtoken_token VALUES (%s, now(), %s)", [legacy_key, user.pk])
    with connection.schema_editor() as editor:
        migration.hash_legacy_tokens(apps, editor)
    assert "authtoken_token" not in connection.introspection.table_names()
    token = AuthToken.objects.get(user=user)
    assert token.digest != legacy_key and legacy_key not in token.digest
    assert token.expiry > timezone.now() + timedelta(seconds=settings.TOKEN_TTL - 60)
    # The client holding the old key keeps working.
    assert authed(api_client, legacy_key).get(ME).json()["username"] == "legacy"
    # A fresh database (no legacy table) skips it.
    with connection.schema_editor() as editor:
        migration.hash_legacy_tokens(apps, editor)

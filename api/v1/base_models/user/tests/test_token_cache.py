"""The cached token → user lookup: zero queries when warm, exact invalidation."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from knox.models import AuthToken

from api.v1.base_models.user.tests.factories import UserFactory
from conftest import client_for

pytestmark = pytest.mark.django_db
ME = "/api/v1/me/"


def token_queries(client) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(ME).status_code == 200
    return sum("knox_authtoken" in q["sql"] for q in queries.captured_queries)


def test_warm_token_needs_no_query():
    client = client_for(UserFactory())
    assert token_queries(client) == 1  # cold: the database
    assert token_queries(client) == 0  # warm: the cache


def test_deleted_token_is_rejected_on_the_next_request():
    user = UserFactory()
    client = client_for(user)
    token_queries(client)
    AuthToken.objects.filter(user=user).get().delete()
    assert client.get(ME).status_code == 401


@pytest.mark.parametrize("how", ["save", "update"])
def test_deactivated_user_is_rejected_on_the_next_request(how):
    user = UserFactory()
    client = client_for(user)
    token_queries(client)
    if how == "save":
        user.is_active = False
        user.save()
    else:
        get_user_model().objects.filter(pk=user.pk).update(is_active=False)
    assert client.get(ME).status_code == 401


def test_user_changes_are_visible_at_once():
    user = UserFactory(email="old@example.com")
    client = client_for(user)
    token_queries(client)
    user.email = "new@example.com"
    user.save()
    assert client.get(ME).json()["email"] == "new@example.com"


def test_unknown_token_is_never_cached(api_client):
    api_client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)
    for _ in range(2):
        with CaptureQueriesContext(connection) as queries:
            assert api_client.get(ME).status_code == 401
        assert len(queries.captured_queries) == 1


def test_disabled_cache_queries_every_time(settings):
    settings.AUTH_TOKEN_CACHE_ENABLED = False
    client = client_for(UserFactory())
    assert token_queries(client) == 1
    assert token_queries(client) == 1

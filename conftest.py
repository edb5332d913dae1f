"""Root pytest fixtures shared by every app (cookiecutter-django / Saleor style)."""

from __future__ import annotations

import pytest
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from knox.models import AuthToken
from rest_framework.test import APIClient

from api.v1.base_models.organization.models import Membership, Role
from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from core.redis import availability, generations
from core.testing.redis import redis_caches, redis_server  # noqa: F401  (fixtures)

# --pgbouncer: the tests through a private PgBouncer in transaction mode (make test's second pass).
pytest_plugins = ["core.testing.pgbouncer"]


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.MEDIA_ROOT.mkdir()


@pytest.fixture(autouse=True)
def _fresh_caches():
    """Every test starts with empty caches and no remembered Redis failure."""
    yield
    for cache in caches.all(initialized_only=True):
        if isinstance(cache, LocMemCache):
            cache.clear()
    availability.reset()
    generations.forget_pending()


@pytest.fixture
def replay_retries():
    """Eager apply() replays a task's retries in-process only when it doesn't propagate errors."""
    from core.celery_app import app

    saved = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = saved


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


def client_for(user, organization=None) -> APIClient:
    """An APIClient authenticated with a real token (and the X-Organization header if given)."""
    client = APIClient()
    _, token = AuthToken.objects.create(user=user)
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if organization is not None:
        headers["HTTP_X_ORGANIZATION"] = organization.slug
    client.credentials(**headers)
    return client


def add_member(organization, role: str, user=None):
    user = user or UserFactory()
    Membership.objects.create(
        user=user, organization=organization, role=Role.objects.get(name=role)
    )
    return user


def revoke_permission(role_name: str, permission: str) -> Role:
    """Take ``permission`` away from the built-in role ``role_name`` (through ``save()``)."""
    role = Role.objects.get(name=role_name)
    role.permissions = [p for p in role.permissions if p != permission]
    role.save()
    return role


@pytest.fixture
def org(db):
    return OrganizationFactory(slug="acme", name="Acme")


@pytest.fixture
def other_org(db):
    return OrganizationFactory(slug="globex", name="Globex")


@pytest.fixture
def member_client(db):
    """``member_client(org, role)`` → (client, user) for a fresh user with that role."""

    def make(organization, role: str = "member", *, header: bool = True):
        user = add_member(organization, role)
        return client_for(user, organization if header else None), user

    return make


@pytest.fixture
def product(org):
    return ProductFactory(organization=org)


@pytest.fixture
def foreign_product(other_org):
    return ProductFactory(organization=other_org)

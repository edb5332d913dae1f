"""Cached RBAC: zero authorization queries when warm, exact invalidation on every change."""

import pytest
from django.core.cache import caches
from django.db import connection
from django.test.utils import CaptureQueriesContext

from api.v1.base_models.organization.models import Membership, Organization, Role
from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.permissions import Perm
from conftest import client_for, revoke_permission
from core.tenancy import permission_cache
from core.tenancy.context import OrganizationContext
from core.tenancy.resolver import load_memberships, resolve_organization_context

pytestmark = pytest.mark.django_db

PRODUCTS = "/api/v1/products/"
NEW_PRODUCT = {"sku": "P-1", "name": "Pump", "price": "3.00"}


def members_url(org, username=""):
    return f"/api/v1/organizations/{org.slug}/members/" + (f"{username}/" if username else "")


def authorization_queries(captured) -> list[str]:
    return [q["sql"] for q in captured if "organizations_" in q["sql"]]


def test_warm_cache_runs_zero_authorization_queries(org, product, member_client, settings):
    settings.API_RESPONSE_CACHE_ENABLED = False  # isolate the authorization path
    client, user = member_client(org, "viewer")
    assert client.get(PRODUCTS).status_code == 200  # fills the permission cache

    with CaptureQueriesContext(connection) as cold_free:
        assert client.get(PRODUCTS).status_code == 200
    sql = [q["sql"] for q in cold_free.captured_queries]
    assert authorization_queries(cold_free.captured_queries) == []
    # What remains: the list's own page (carrying its bounded COUNT, core/api/pagination.py);
    # the token lookup (authentication) is cached too (api.v1.base_models.user.authentication).
    assert len(sql) == 1 and all("products_product" in q for q in sql)


def test_resolver_itself_runs_no_query_when_warm(org, member_client, django_assert_num_queries):
    _, user = member_client(org, "viewer")
    with django_assert_num_queries(1):
        first = resolve_organization_context(user, org.slug)
    with django_assert_num_queries(0):
        again = resolve_organization_context(user, org.slug)
    assert again == first and again.has(Perm.PRODUCTS_VIEW)


def test_disabled_cache_queries_every_time(org, member_client, settings, django_assert_num_queries):
    settings.PERMISSION_CACHE_ENABLED = False
    _, user = member_client(org, "viewer")
    load_memberships(user.pk, org.slug)
    with django_assert_num_queries(1):
        load_memberships(user.pk, org.slug)


def test_adding_a_membership_grants_on_the_next_request(org, member_client):
    admin, _ = member_client(org, "admin")
    newcomer = UserFactory()
    newcomer_client = client_for(newcomer, org)
    assert newcomer_client.get(PRODUCTS).status_code == 403
    response = admin.post(members_url(org), {"username": newcomer.username, "role": "viewer"})
    assert response.status_code == 201, response.content
    assert newcomer_client.get(PRODUCTS).status_code == 200


def test_changing_a_role_takes_effect_on_the_next_request(org, member_client):
    owner, _ = member_client(org, "owner")
    client, user = member_client(org, "viewer")
    assert client.post(PRODUCTS, NEW_PRODUCT).status_code == 403
    assert owner.patch(members_url(org, user.username), {"role": "admin"}).status_code == 200
    assert client.post(PRODUCTS, NEW_PRODUCT).status_code == 201
    # ...and a downgrade is never a stale grant.
    assert owner.patch(members_url(org, user.username), {"role": "viewer"}).status_code == 200
    assert client.post(PRODUCTS, {**NEW_PRODUCT, "sku": "P-2"}).status_code == 403


def test_removing_a_membership_revokes_on_the_next_request(org, member_client):
    owner, _ = member_client(org, "owner")
    client, user = member_client(org, "member")
    assert client.get(PRODUCTS).status_code == 200
    assert owner.delete(members_url(org, user.username)).status_code == 204
    assert client.get(PRODUCTS).status_code == 403


def test_changing_a_roles_permissions_takes_effect_on_the_next_request(org, member_client):
    client, _ = member_client(org, "viewer")
    assert client.get(PRODUCTS).status_code == 200
    viewer = revoke_permission("viewer", Perm.PRODUCTS_VIEW)
    assert client.get(PRODUCTS).status_code == 403
    Role.objects.filter(pk=viewer.pk).update(permissions=[*viewer.permissions, Perm.PRODUCTS_VIEW])
    assert client.get(PRODUCTS).status_code == 200


def test_bulk_membership_writes_invalidate(org, other_org, member_client):
    client, user = member_client(org, "viewer")
    assert client.post(PRODUCTS, NEW_PRODUCT).status_code == 403
    Membership.objects.filter(user=user).update(role=Role.objects.get(name="admin"))
    assert client.post(PRODUCTS, NEW_PRODUCT).status_code == 201
    Membership.objects.filter(user=user).delete()
    assert client.get(PRODUCTS).status_code == 403
    Membership.objects.bulk_create(
        [Membership(user=user, organization=org, role=Role.objects.get(name="viewer"))]
    )
    assert client.get(PRODUCTS).status_code == 200


def test_other_users_entries_survive_a_membership_change(org, member_client):
    _, alice = member_client(org, "viewer")
    _, bob = member_client(org, "viewer")
    load_memberships(alice.pk, org.slug)
    load_memberships(bob.pk, org.slug)
    Membership.objects.filter(user=alice).update(role=Role.objects.get(name="admin"))
    lookup = permission_cache.read_entry(bob.pk, org.slug)
    assert lookup.hit  # exact: only alice's entries were invalidated


def test_bump_after_commit_discards_entries_cached_before_the_commit(
    org, member_client, django_capture_on_commit_callbacks
):
    """A request that read the pre-write state between the write and the commit cached it with
    the already-bumped generation; the on-commit bump must throw that away."""
    _, user = member_client(org, "viewer")
    stale = [OrganizationContext(org.pk, org.slug, "viewer", frozenset({Perm.PRODUCTS_VIEW}))]
    with django_capture_on_commit_callbacks() as callbacks:
        Membership.objects.filter(user=user).delete()
        # Another request reads the old (still committed) state and caches it.
        permission_cache.cached_memberships(user.pk, org.slug, lambda: stale)
        assert load_memberships(user.pk, org.slug) == stale
    assert callbacks, "no invalidation registered for after the commit"
    for callback in callbacks:
        callback()
    assert load_memberships(user.pk, org.slug) == []


def test_no_entry_is_stored_inside_an_application_transaction(org, member_client):
    from django.db import transaction

    _, user = member_client(org, "viewer")
    with transaction.atomic():
        load_memberships(user.pk, org.slug)
        assert not permission_cache.read_entry(user.pk, org.slug).hit
    load_memberships(user.pk, org.slug)
    assert permission_cache.read_entry(user.pk, org.slug).hit


def test_a_lost_generation_never_comes_back_to_an_old_value(org, member_client):
    _, user = member_client(org, "viewer")
    load_memberships(user.pk, org.slug)
    assert permission_cache.read_entry(user.pk, org.slug).hit
    # Evicted/flushed generation key: it is re-created at a fresh random value, so the entry
    # recorded under the old value is a miss (a counter restarting at 1 could match it).
    caches["permissions"].delete(permission_cache.user_generation_key(user.pk))
    assert not permission_cache.read_entry(user.pk, org.slug).hit


def test_without_header_a_second_membership_takes_effect(org, other_org, member_client):
    client, user = member_client(org, "viewer", header=False)
    assert client.get(PRODUCTS).status_code == 200  # the only organization: cached under "*"
    Membership.objects.create(
        user=user, organization=other_org, role=Role.objects.get(name="viewer")
    )
    response = client.get(PRODUCTS)
    assert response.status_code == 400 and "organization" in response.json()


def test_renaming_an_organization_invalidates_every_user(org, member_client):
    client, _ = member_client(org, "viewer")  # sends X-Organization: acme
    assert client.get(PRODUCTS).status_code == 200
    org.slug = "acme-renamed"
    org.save()
    assert client.get(PRODUCTS).status_code == 403  # "acme" no longer exists


def test_creating_an_organization_keeps_other_users_entries(org, member_client):
    _, user = member_client(org, "viewer")
    load_memberships(user.pk, org.slug)
    _, founder = member_client(org, "member")
    response = client_for(founder).post("/api/v1/organizations/", {"name": "N", "slug": "newco"})
    assert response.status_code == 201, response.content
    assert permission_cache.read_entry(user.pk, org.slug).hit
    newco = Organization.objects.get(slug="newco")
    assert client_for(founder, newco).get(PRODUCTS).status_code == 200


def test_non_members_and_odd_slugs_are_not_cached(org, member_client):
    _, user = member_client(org, "viewer")
    assert load_memberships(user.pk, "someone-else") == []
    assert not permission_cache.read_entry(user.pk, "someone-else").hit
    odd = "acme with spaces\n" * 20
    assert permission_cache.entry_key(user.pk, odd) != permission_cache.entry_key(user.pk, "x")
    assert len(permission_cache.entry_key(user.pk, odd)) < 60

"""The organization context and the role x permission matrix, through the real API."""

import pytest

from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member, client_for
from core.permissions.enums import RoleName
from core.registry import default_role_permissions, registry

pytestmark = pytest.mark.django_db


class TestOrganizationContext:
    def test_single_membership_needs_no_header(self, org):
        ProductFactory(organization=org)
        user = add_member(org, "viewer")
        response = client_for(user).get("/api/v1/products/")
        assert response.status_code == 200 and response.json()["count"] == 1

    def test_several_memberships_without_header_is_400_explaining_it(self, org, other_org):
        user = add_member(org, "viewer")
        add_member(other_org, "viewer", user=user)
        response = client_for(user).get("/api/v1/products/")
        assert response.status_code == 400
        assert "X-Organization" in response.json()["organization"][0]

    def test_no_membership_is_400(self, db):
        response = client_for(UserFactory()).get("/api/v1/products/")
        assert response.status_code == 400
        assert "organization" in response.json()

    def test_header_selects_the_organization(self, org, other_org):
        ProductFactory(organization=org, sku="ACME")
        ProductFactory(organization=other_org, sku="GLOBEX")
        user = add_member(org, "viewer")
        add_member(other_org, "viewer", user=user)
        response = client_for(user, other_org).get("/api/v1/products/")
        assert [p["sku"] for p in response.json()["results"]] == ["GLOBEX"]

    @pytest.mark.parametrize("slug", ["globex", "does-not-exist"])
    def test_header_naming_a_foreign_or_unknown_organization_is_403(self, org, other_org, slug):
        user = add_member(org, "owner")
        client = client_for(user)
        client.defaults["HTTP_X_ORGANIZATION"] = slug
        assert client.get("/api/v1/products/").status_code == 403
        assert client.get("/api/v1/orders/").status_code == 403


# (method, url template, permission it needs, payload builder taking the ids)
ENDPOINTS = [
    ("get", "/api/v1/products/", "products.view", None),
    ("get", "/api/v1/products/{product}/", "products.view", None),
    (
        "post",
        "/api/v1/products/",
        "products.manage",
        lambda ids: {"sku": "NEW", "name": "n", "price": "1"},
    ),
    ("patch", "/api/v1/products/{product}/", "products.manage", lambda ids: {"name": "renamed"}),
    ("delete", "/api/v1/products/{spare}/", "products.manage", None),
    ("get", "/api/v1/orders/", "orders.view", None),
    ("get", "/api/v1/orders/{order}/", "orders.view", None),
    (
        "post",
        "/api/v1/orders/",
        "orders.create",
        lambda ids: {"lines": [{"product": ids["product"], "quantity": 1}]},
    ),
    ("post", "/api/v1/orders/{order}/cancel/", "orders.cancel", None),
    ("get", "/api/v1/organizations/{org}/members/", "members.view", None),
    (
        "post",
        "/api/v1/organizations/{org}/members/",
        "members.manage",
        lambda ids: {"username": ids["outsider"], "role": "viewer"},
    ),
    ("get", "/api/v1/organizations/{org}/", "organizations.view", None),
    ("delete", "/api/v1/organizations/{org}/", "organizations.delete", None),
]


@pytest.mark.parametrize("role", list(RoleName))
@pytest.mark.parametrize(
    "method, url, permission, payload", ENDPOINTS, ids=[f"{m} {u}" for m, u, *_ in ENDPOINTS]
)
def test_role_permission_matrix(org, role, method, url, permission, payload):
    from api.v1.sales.orders.services import LineRequest, place_order

    product = ProductFactory(organization=org, stock=50)
    spare = ProductFactory(organization=org)
    order = place_order(
        organization_id=org.pk, user_id=None, lines=[LineRequest(product.pk, 1)], metadata={}
    )
    add_member(org, "owner")  # so the caller is never the last owner
    outsider = UserFactory()
    ids = {
        "product": product.pk,
        "spare": spare.pk,
        "order": order.pk,
        "org": org.slug,
        "outsider": outsider.username,
    }
    client = client_for(add_member(org, role), org)
    data = payload(ids) if payload else None
    response = getattr(client, method)(url.format(**ids), data, format="json")
    allowed = permission in default_role_permissions()[role]
    if allowed:
        assert response.status_code < 300, (role, url, response.status_code, response.content)
    else:
        assert response.status_code == 403, (role, url, response.status_code, response.content)


def test_role_rows_match_the_declared_defaults(db):
    from api.v1.base_models.organization.models import Role

    assert {r.name: frozenset(r.permissions) for r in Role.objects.all()} == {
        str(k): frozenset(str(p) for p in v) for k, v in default_role_permissions().items()
    }


# The role contents as they were before the permissions moved into the modules' registries:
# moving declarations must not change what any built-in role may do.
_READ = {"organizations.view", "members.view", "products.view", "orders.view", "files.view"}
_MEMBER = _READ | {"orders.create", "orders.cancel", "files.upload"}
_ADMIN = _MEMBER | {"products.manage", "members.manage", "files.delete", "exports.create"}
_BEFORE = _ADMIN | {"organizations.delete"}


def test_registered_defaults_keep_the_built_in_role_contents():
    # Only the permissions that existed then: modules installed later add their own.
    defaults = {role: perms & _BEFORE for role, perms in default_role_permissions().items()}
    assert defaults["viewer"] == _READ
    assert defaults["member"] == _MEMBER
    assert defaults["admin"] == _ADMIN
    # the owner holds every registered permission (today: the admin's plus organizations.delete)
    assert defaults["owner"] >= _ADMIN | {"organizations.delete"}
    assert default_role_permissions()["owner"] == frozenset(registry["permissions"])

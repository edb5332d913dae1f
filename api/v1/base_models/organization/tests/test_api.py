import pytest

from api.v1.base_models.organization.models import Membership, Organization
from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.base_models.user.tests.factories import UserFactory
from api.v1.catalog.products.models import Product
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member, client_for

pytestmark = pytest.mark.django_db


class TestOrganizations:
    url = "/api/v1/organizations/"

    def test_create_makes_the_caller_owner(self):
        user = UserFactory()
        response = client_for(user).post(self.url, {"name": "Initech", "slug": "initech"})
        assert response.status_code == 201, response.content
        assert response.json()["slug"] == "initech"
        assert response.json()["role"] == "owner"
        membership = Membership.objects.get(user=user, organization__slug="initech")
        assert membership.role.name == "owner"

    def test_list_shows_only_the_callers_organizations(self, org, other_org):
        OrganizationFactory(slug="third")
        user = add_member(org, "viewer")
        body = client_for(user).get(self.url).json()
        assert body["count"] == 1
        assert body["results"][0]["slug"] == "acme"
        assert body["results"][0]["role"] == "viewer"

    @pytest.mark.parametrize(
        "payload, field",
        [
            ({"name": "X", "slug": "has space"}, "slug"),
            ({"name": "X"}, "slug"),
            ({"slug": "ok-slug"}, "name"),
            ({"name": "X" * 201, "slug": "ok-slug"}, "name"),
        ],
    )
    def test_invalid_payload_names_the_field(self, payload, field):
        response = client_for(UserFactory()).post(self.url, payload)
        assert response.status_code == 400
        assert field in response.json()
        assert not Organization.objects.exists()

    def test_duplicate_slug_is_rejected(self, org):
        response = client_for(UserFactory()).post(self.url, {"name": "Again", "slug": "acme"})
        assert response.status_code in (400, 409)
        assert "slug" in response.json()
        assert Organization.objects.filter(slug="acme").count() == 1

    def test_delete_requires_owner_and_removes_everything(self, org, other_org):
        ProductFactory(organization=org)
        ProductFactory(organization=other_org)
        admin = add_member(org, "admin")
        assert client_for(admin).delete(f"{self.url}acme/").status_code == 403
        owner = add_member(org, "owner")
        assert client_for(owner).delete(f"{self.url}acme/").status_code == 204
        assert not Organization.objects.filter(slug="acme").exists()
        assert Product.objects.filter(organization=other_org).count() == 1

    def test_other_organization_detail_is_forbidden(self, org, other_org):
        user = add_member(org, "owner")
        client = client_for(user)
        assert client.get(f"{self.url}globex/").status_code == 403
        assert client.delete(f"{self.url}globex/").status_code == 403
        assert Organization.objects.filter(slug="globex").exists()


class TestMembers:
    def url(self, slug="acme", username=None):
        base = f"/api/v1/organizations/{slug}/members/"
        return f"{base}{username}/" if username else base

    def test_list_members(self, org, other_org):
        viewer = add_member(org, "viewer")
        add_member(other_org, "owner")
        body = client_for(viewer).get(self.url()).json()
        assert [m["username"] for m in body["results"]] == [viewer.username]
        assert body["results"][0]["role"] == "viewer"

    def test_admin_adds_changes_and_removes_a_member(self, org):
        admin = add_member(org, "admin")
        newcomer = UserFactory(username="newcomer")
        client = client_for(admin)
        response = client.post(self.url(), {"username": "newcomer", "role": "viewer"})
        assert response.status_code == 201, response.content
        assert response.json()["role"] == "viewer"
        response = client.patch(self.url(username="newcomer"), {"role": "member"})
        assert response.status_code == 200
        assert Membership.objects.get(user=newcomer).role.name == "member"
        assert client.delete(self.url(username="newcomer")).status_code == 204
        assert not Membership.objects.filter(user=newcomer).exists()

    @pytest.mark.parametrize("role", ["member", "viewer"])
    def test_members_without_members_manage_get_403(self, org, role):
        user = add_member(org, role)
        UserFactory(username="newcomer")
        client = client_for(user)
        assert (
            client.post(self.url(), {"username": "newcomer", "role": "viewer"}).status_code == 403
        )
        assert client.patch(self.url(username=user.username), {"role": "admin"}).status_code == 403
        assert client.delete(self.url(username=user.username)).status_code == 403
        assert Membership.objects.get(user=user).role.name == role

    def test_non_member_of_that_organization_is_refused(self, org, other_org):
        outsider = add_member(other_org, "owner")
        add_member(org, "viewer", user=UserFactory(username="insider"))
        client = client_for(outsider)
        assert client.get(self.url()).status_code == 403
        assert client.post(self.url(), {"username": "insider", "role": "owner"}).status_code == 403
        assert client.patch(self.url(username="insider"), {"role": "owner"}).status_code == 403
        assert client.delete(self.url(username="insider")).status_code == 403
        assert Membership.objects.get(user__username="insider").role.name == "viewer"

    def test_members_of_another_organization_are_404(self, org, other_org):
        admin = add_member(org, "admin")
        add_member(other_org, "viewer", user=UserFactory(username="foreigner"))
        client = client_for(admin)
        assert client.patch(self.url(username="foreigner"), {"role": "admin"}).status_code == 404
        assert client.delete(self.url(username="foreigner")).status_code == 404

    def test_bad_payloads(self, org):
        admin = add_member(org, "admin")
        member = add_member(org, "member")
        client = client_for(admin)
        assert "username" in client.post(self.url(), {"username": "ghost", "role": "viewer"}).json()
        response = client.post(self.url(), {"username": member.username, "role": "viewer"})
        assert response.status_code == 400 and "username" in response.json()
        response = client.post(self.url(), {"username": member.username, "role": "emperor"})
        assert response.status_code == 400 and "role" in response.json()
        assert client.post(self.url(), {"role": "viewer"}).json().keys() == {"username"}

    def test_admin_cannot_grant_or_touch_owner(self, org):
        admin = add_member(org, "admin")
        owner = add_member(org, "owner")
        UserFactory(username="newcomer")
        client = client_for(admin)
        assert client.post(self.url(), {"username": "newcomer", "role": "owner"}).status_code == 403
        assert (
            client.patch(self.url(username=owner.username), {"role": "viewer"}).status_code == 403
        )
        assert client.delete(self.url(username=owner.username)).status_code == 403
        assert Membership.objects.get(user=owner).role.name == "owner"

    def test_last_owner_cannot_leave_or_be_demoted(self, org):
        owner = add_member(org, "owner")
        client = client_for(owner)
        assert client.patch(self.url(username=owner.username), {"role": "admin"}).status_code == 409
        assert client.delete(self.url(username=owner.username)).status_code == 409
        second = add_member(org, "owner")
        assert (
            client.patch(self.url(username=second.username), {"role": "admin"}).status_code == 200
        )

    def test_role_change_applies_to_the_next_request(self, org):
        owner = add_member(org, "owner")
        user = add_member(org, "viewer")
        user_client = client_for(user, org)
        payload = {"sku": "N-1", "name": "New", "price": "1.00"}
        assert user_client.post("/api/v1/products/", payload).status_code == 403
        client_for(owner).patch(self.url(username=user.username), {"role": "admin"})
        assert user_client.post("/api/v1/products/", payload).status_code == 201
        client_for(owner).delete(self.url(username=user.username))
        assert user_client.get("/api/v1/products/").status_code == 403

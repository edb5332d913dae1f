import pytest
from django.contrib.auth import get_user_model

from api.v1.base_models.user.tests.factories import PASSWORD, UserFactory
from conftest import client_for

pytestmark = pytest.mark.django_db
User = get_user_model()


class TestToken:
    def test_valid_credentials_return_a_token_that_authenticates(self, api_client):
        user = UserFactory(username="alice")
        response = api_client.post(
            "/api/v1/auth/token/", {"username": "alice", "password": PASSWORD}
        )
        assert response.status_code == 200
        token = response.json()["token"]
        assert user.auth_token_set.count() == 1
        api_client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
        assert api_client.get("/api/v1/me/").json()["username"] == "alice"

    def test_wrong_password_is_400_without_token(self, api_client):
        UserFactory(username="alice")
        response = api_client.post("/api/v1/auth/token/", {"username": "alice", "password": "nope"})
        assert response.status_code == 400
        assert "token" not in response.json()

    def test_missing_fields_are_named(self, api_client):
        response = api_client.post("/api/v1/auth/token/", {})
        assert response.status_code == 400
        assert set(response.json()) == {"username", "password"}

    @pytest.mark.parametrize("header", [None, "Token not-a-real-token", "Bearer x", "Token"])
    def test_missing_or_invalid_token_is_401(self, api_client, header):
        if header:
            api_client.credentials(HTTP_AUTHORIZATION=header)
        response = api_client.get("/api/v1/me/")
        assert response.status_code == 401
        assert "detail" in response.json()


def test_me_lists_memberships(org, other_org, member_client):
    client, user = member_client(org, "admin")
    from conftest import add_member

    add_member(other_org, "viewer", user=user)
    body = client.get("/api/v1/me/").json()
    assert body["username"] == user.username
    assert body["email"] == user.email
    assert body["memberships"] == [
        {"organization": "acme", "role": "admin"},
        {"organization": "globex", "role": "viewer"},
    ]


class TestCreateUser:
    url = "/api/v1/users/"

    def test_staff_creates_a_user_who_can_log_in(self, api_client):
        staff = UserFactory(is_staff=True)
        response = client_for(staff).post(
            self.url,
            {"username": "bob", "email": "bob@example.com", "password": "a-Long-passw0rd!"},
        )
        assert response.status_code == 201, response.content
        assert response.json() == {
            "id": response.json()["id"],
            "username": "bob",
            "email": "bob@example.com",
        }
        assert User.objects.get(username="bob").check_password("a-Long-passw0rd!")

    def test_non_staff_is_403_and_nothing_created(self):
        response = client_for(UserFactory()).post(
            self.url,
            {"username": "bob", "email": "bob@example.com", "password": "a-Long-passw0rd!"},
        )
        assert response.status_code == 403
        assert not User.objects.filter(username="bob").exists()

    @pytest.mark.parametrize("password", ["short", "password123", "12345678901"])
    def test_weak_password_is_rejected_naming_the_field(self, password):
        staff = UserFactory(is_staff=True)
        response = client_for(staff).post(
            self.url, {"username": "bob", "email": "bob@example.com", "password": password}
        )
        assert response.status_code == 400
        assert "password" in response.json()
        assert not User.objects.filter(username="bob").exists()

    def test_duplicate_username_and_bad_email(self):
        staff = UserFactory(is_staff=True, username="taken")
        response = client_for(staff).post(
            self.url, {"username": "taken", "email": "not-an-email", "password": "a-Long-passw0rd!"}
        )
        assert response.status_code == 400
        assert set(response.json()) == {"username", "email"}

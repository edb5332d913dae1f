"""The users module's plain views under ``/api/v1/`` (``register_urls`` in apps.py; imported
with the URLconf). The OpenAPI token scheme is declared here too: the schema is generated from
the URLconf, so it is always loaded first."""

from django.urls import path

from . import schema  # noqa: F401  (the OpenAPI token scheme)
from .views import LogoutView, MeView, TokenView, UserCreateView

urlpatterns = [
    path("auth/token/", TokenView.as_view(), name="auth-token"),
    path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
    path("me/", MeView.as_view(), name="me"),
    path("users/", UserCreateView.as_view(), name="user-create"),
]

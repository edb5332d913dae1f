from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class UserConfig(AppConfig):
    name = "api.v1.base_models.user"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from django.urls import path
        from rest_framework.authtoken.models import Token

        from core.registry import register_demo_data, register_urls

        from .authentication import invalidate_tokens
        from .demo import load_demo
        from .views import MeView, TokenView, UserCreateView

        def token_changed(sender, instance, **kwargs):
            invalidate_tokens([instance.key])

        post_save.connect(token_changed, sender=Token, weak=False, dispatch_uid="users.token-cache")
        post_delete.connect(
            token_changed, sender=Token, weak=False, dispatch_uid="users.token-cache-delete"
        )
        register_urls(
            path("auth/token/", TokenView.as_view(), name="auth-token"),
            path("me/", MeView.as_view(), name="me"),
            path("users/", UserCreateView.as_view(), name="user-create"),
        )
        register_demo_data("users", load_demo)

from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class UserConfig(AppConfig):
    name = "api.v1.base_models.user"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from django.urls import path
        from knox.models import AuthToken

        from core.registry import register_demo_data, register_schedule, register_urls

        from . import schema  # noqa: F401  (the OpenAPI token scheme)
        from .authentication import invalidate_tokens
        from .demo import load_demo
        from .views import LogoutView, MeView, TokenView, UserCreateView

        def token_changed(sender, instance, **kwargs):
            invalidate_tokens([instance.digest])

        post_save.connect(
            token_changed, sender=AuthToken, weak=False, dispatch_uid="users.token-cache"
        )
        post_delete.connect(
            token_changed, sender=AuthToken, weak=False, dispatch_uid="users.token-cache-delete"
        )
        register_schedule(
            "erp: expired tokens cleanup",
            "api.v1.base_models.user.tasks.delete_expired_tokens",
            "Delete API tokens past their expiry (they are refused already).",
            crontab={"minute": "41", "hour": "3"},
            expires_seconds=3600,
        )
        register_urls(
            path("auth/token/", TokenView.as_view(), name="auth-token"),
            path("auth/logout/", LogoutView.as_view(), name="auth-logout"),
            path("me/", MeView.as_view(), name="me"),
            path("users/", UserCreateView.as_view(), name="user-create"),
        )
        register_demo_data("users", load_demo)

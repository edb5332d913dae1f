from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class UserConfig(AppConfig):
    name = "api.v1.base_models.user"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from knox.models import AuthToken

        from core.registry import register_demo_data, register_schedule, register_urls

        def token_changed(sender, instance, **kwargs):
            from .authentication import invalidate_tokens

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
        register_urls(f"{self.name}.urls")  # auth/token/, auth/logout/, me/, users/
        register_demo_data("users", f"{self.name}.demo.load_demo")

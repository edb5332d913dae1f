from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save


class UserConfig(AppConfig):
    name = "api.v1.base_models.user"
    label = "users"
    verbose_name = "Users"

    def ready(self) -> None:
        from rest_framework.authtoken.models import Token

        from .authentication import invalidate_tokens

        def token_changed(sender, instance, **kwargs):
            invalidate_tokens([instance.key])

        post_save.connect(token_changed, sender=Token, weak=False, dispatch_uid="users.token-cache")
        post_delete.connect(
            token_changed, sender=Token, weak=False, dispatch_uid="users.token-cache-delete"
        )

from django.contrib.auth.models import AbstractUser, UserManager

from core.db.invalidation import InvalidatingQuerySet


class UserQuerySet(InvalidatingQuerySet):
    """Any write to a user (deactivation, deletion, ...) drops the cached token → user entries."""

    cache_scope_field = "id"
    invalidate_on_create = False  # a new user has no token yet

    @classmethod
    def invalidate_cache(cls, scopes) -> None:
        from .authentication import invalidate_user_tokens

        invalidate_user_tokens(scopes)


class UserManagerWithInvalidation(UserManager.from_queryset(UserQuerySet)):
    pass


class User(AbstractUser):
    """An ERP user. Organization access comes from memberships, not from Django's groups."""

    objects = UserManagerWithInvalidation()

    class Meta:
        db_table = "users_user"

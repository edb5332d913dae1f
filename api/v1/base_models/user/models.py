from django.contrib.auth.models import AbstractUser


class User(AbstractUser):
    """An ERP user. Organization access comes from memberships, not from Django's groups."""

    class Meta:
        db_table = "users_user"

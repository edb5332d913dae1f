from django.db import models


class PermissionGrant(models.Model):
    """A registered permission whose default role grants the platform has applied.

    ``core.permissions.grants`` adds a permission to its default built-in roles once, the first
    ``migrate`` after the module declaring it is installed, and records it here: an operator who
    later takes the permission away from a role keeps it that way.
    """

    codename = models.CharField(max_length=100, unique=True)
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["codename"]

    def __str__(self) -> str:
        return self.codename

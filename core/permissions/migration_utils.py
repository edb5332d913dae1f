"""Helpers for data migrations that introduce new permissions.

Usage in a migration of the app that adds ``exports.create``::

    from core.permissions.migration_utils import grant_operation
    operations = [grant_operation({"exports.create": ["owner", "admin"]})]
"""

from django.db import migrations


def grant_operation(grants: dict[str, list[str]]) -> migrations.RunPython:
    """A reversible RunPython adding each permission to the named roles (idempotent)."""

    def forward(apps, schema_editor):
        Role = apps.get_model("organizations", "Role")
        for permission, role_names in grants.items():
            for role in Role.objects.filter(name__in=role_names):
                if permission not in role.permissions:
                    role.permissions = [*role.permissions, permission]
                    role.save(update_fields=["permissions"])

    def backward(apps, schema_editor):
        Role = apps.get_model("organizations", "Role")
        for permission in grants:
            for role in Role.objects.filter(permissions__contains=[permission]):
                role.permissions = [p for p in role.permissions if p != permission]
                role.save(update_fields=["permissions"])

    return migrations.RunPython(forward, backward)

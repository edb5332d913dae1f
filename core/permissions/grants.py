"""Built-in role rows follow the registered permissions (post_migrate; no module migration).

After every ``migrate`` (and a test database flush):
- a missing built-in role is created with the permissions registered for it (like Django's
  content types); existing roles are never rewritten;
- a registered permission seen for the first time (not in ``core.PermissionGrant``) is added to
  its default roles and recorded, so an operator who later removes it from a role keeps that.
"""

from __future__ import annotations

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from core.models import PermissionGrant
from core.registry import default_role_permissions, registry
from core.tenancy.swappable import get_role_model


def ensure_builtin_roles(using=None, **kwargs) -> None:
    connection = connections[using or DEFAULT_DB_ALIAS]
    tables = connection.introspection.table_names()
    Role = get_role_model()
    if Role._meta.db_table not in tables or PermissionGrant._meta.db_table not in tables:
        return  # migrating step by step (safe_migrate): wait until both tables exist
    defaults = default_role_permissions()
    with transaction.atomic(using=connection.alias):
        for name, permissions in defaults.items():
            Role.objects.using(connection.alias).get_or_create(
                name=name, defaults={"permissions": sorted(permissions)}
            )
        known = set(
            PermissionGrant.objects.using(connection.alias).values_list("codename", flat=True)
        )
        new = [p for codename, p in registry["permissions"].items() if codename not in known]
        for role in Role.objects.using(connection.alias).filter(name__in=defaults):
            missing = [p.codename for p in new if role.name in p.roles]
            missing = [c for c in missing if c not in role.permissions]
            if missing:
                role.permissions = sorted([*role.permissions, *missing])
                role.save(update_fields=["permissions"])
        PermissionGrant.objects.using(connection.alias).bulk_create(
            [PermissionGrant(codename=p.codename) for p in new], ignore_conflicts=True
        )

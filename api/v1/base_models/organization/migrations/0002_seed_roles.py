"""Seed the four built-in roles.

The permission lists are written out here (not imported from code) so this migration means the
same thing forever; later permissions are granted by later migrations via
``core.permissions.migration_utils.grant``.
"""

from django.db import migrations

READ = ["organizations.view", "members.view", "products.view", "orders.view"]
MEMBER = READ + ["orders.create", "orders.cancel"]
ADMIN = MEMBER + ["products.manage", "members.manage"]
OWNER = ADMIN + ["organizations.delete"]

ROLES = {
    "owner": ("Everything, including deleting the organization.", OWNER),
    "admin": ("Manage products and members; create and cancel orders.", ADMIN),
    "member": ("Read everything; create and cancel orders.", MEMBER),
    "viewer": ("Read only.", READ),
}


def seed(apps, schema_editor):
    Role = apps.get_model("organizations", "Role")
    for name, (description, permissions) in ROLES.items():
        Role.objects.update_or_create(
            name=name, defaults={"description": description, "permissions": permissions}
        )


def unseed(apps, schema_editor):
    apps.get_model("organizations", "Role").objects.filter(name__in=ROLES).delete()


class Migration(migrations.Migration):
    dependencies = [("organizations", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]

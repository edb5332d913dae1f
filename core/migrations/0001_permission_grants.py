from django.db import migrations, models

# Permissions whose default grants earlier data migrations applied (organizations 0002, files
# 0002, exports 0002): recorded as granted so an operator's later edits of roles stay.
ALREADY_GRANTED = [
    "organizations.view",
    "organizations.delete",
    "members.view",
    "members.manage",
    "products.view",
    "products.manage",
    "orders.view",
    "orders.create",
    "orders.cancel",
    "files.view",
    "files.upload",
    "files.delete",
    "exports.create",
]


def backfill(apps, schema_editor):
    PermissionGrant = apps.get_model("core", "PermissionGrant")
    PermissionGrant.objects.bulk_create(
        [PermissionGrant(codename=c) for c in ALREADY_GRANTED], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    initial = True
    dependencies = []
    operations = [
        migrations.CreateModel(
            name="PermissionGrant",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("codename", models.CharField(max_length=100, unique=True)),
                ("granted_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["codename"]},
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]

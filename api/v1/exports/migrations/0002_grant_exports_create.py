"""Grant the new ``exports.create`` permission to the owner and admin roles."""

from django.db import migrations

from core.permissions.migration_utils import grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("exports", "0001_initial"),
        ("organizations", "0002_seed_roles"),
    ]
    operations = [grant_operation({"exports.create": ["owner", "admin"]})]

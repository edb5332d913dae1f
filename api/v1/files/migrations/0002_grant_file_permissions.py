"""Grant the files permissions to the built-in roles.

Mapping (now declared in api/v1/files/permissions.py): everyone who can read the
organization can see and download its files (viewer and up); whoever creates orders can upload
(member and up); deleting a file is an admin's call (admin and owner).
"""

from django.db import migrations

from core.permissions.migration_utils import grant_operation


class Migration(migrations.Migration):
    dependencies = [
        ("files", "0001_initial"),
        ("organizations", "0002_seed_roles"),
    ]
    operations = [
        grant_operation(
            {
                "files.view": ["viewer", "member", "admin", "owner"],
                "files.upload": ["member", "admin", "owner"],
                "files.delete": ["admin", "owner"],
            }
        )
    ]

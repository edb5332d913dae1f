"""Tokens move from DRF's ``authtoken_token`` (the key itself in the database) to
django-rest-knox's ``knox_authtoken`` (only a SHA-512 digest).

Each existing key is hashed into a knox token of the same user, valid ``TOKEN_TTL`` from now, so
clients keep working without logging in again; then ``authtoken_token`` (no longer an installed
app) is dropped, so the database holds no usable key. A database that never had DRF's table
(a fresh install) skips both steps. Irreversible on purpose: the plaintext keys are gone.
"""

from datetime import timedelta

from django.conf import settings
from django.db import migrations
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"


def hash_legacy_tokens(apps, schema_editor):
    from knox.crypto import hash_token
    from knox.settings import CONSTANTS

    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return
    AuthToken = apps.get_model("knox", "AuthToken")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, user_id FROM {LEGACY_TABLE}")
        rows = cursor.fetchall()
    expiry = timezone.now() + timedelta(seconds=settings.TOKEN_TTL)
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=hash_token(key),
                token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            )
            for key, user_id in rows
        ],
        ignore_conflicts=True,
        batch_size=1000,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {LEGACY_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("users", "0002_alter_user_managers"),
        ("knox", "0009_extend_authtoken_field"),
    ]

    operations = [
        migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop, elidable=False)
    ]

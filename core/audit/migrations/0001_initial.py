"""The audit table, append-only for every role but its owner.

The application role gets SELECT/INSERT on new tables by default privileges (and UPDATE/DELETE,
taken back here); ``provision_db`` re-grants all tables, then revokes again on every table whose
comment starts with ``append-only`` (core.db.provisioning).
"""

import django.db.models.deletion
import django.db.models.functions.datetime
from django.conf import settings
from django.db import migrations, models

from core.audit.triggers import DROP_ALL_SQL

# Every role but the owner (and PUBLIC) loses UPDATE, DELETE and TRUNCATE.
REVOKE_SQL = """
DO $revoke$
DECLARE grantee_name text;
BEGIN
    REVOKE UPDATE, DELETE, TRUNCATE ON audit_record FROM PUBLIC;
    FOR grantee_name IN
        SELECT DISTINCT a.grantee::regrole::text
          FROM pg_class c, aclexplode(c.relacl) a
         WHERE c.oid = 'audit_record'::regclass AND a.grantee <> 0 AND a.grantee <> c.relowner
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON audit_record FROM %s', grantee_name);
    END LOOP;
END
$revoke$;
"""


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.ERP_ORGANIZATION_MODEL),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="AuditRecord",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                (
                    "created_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "action",
                    models.CharField(
                        choices=[("create", "Create"), ("update", "Update"), ("delete", "Delete")],
                        max_length=6,
                    ),
                ),
                ("object_type", models.CharField(max_length=100)),
                ("object_id", models.CharField(max_length=64)),
                ("changes", models.JSONField()),
                ("request_id", models.CharField(max_length=64, null=True)),
                (
                    "actor",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "organization",
                    models.ForeignKey(
                        db_constraint=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.ERP_ORGANIZATION_MODEL,
                    ),
                ),
            ],
            options={
                "db_table": "audit_record",
                "ordering": ["-id"],
                "indexes": [
                    models.Index(fields=["organization", "id"], name="audit_record_org_id"),
                    models.Index(
                        fields=["organization", "object_type", "object_id"],
                        name="audit_record_object",
                    ),
                ],
            },
        ),
        migrations.RunSQL(
            sql=[
                "COMMENT ON TABLE audit_record IS 'append-only: audit log (core.audit); only "
                "the owner deletes (manage.py prune_audit_log)'",
                "CREATE INDEX audit_record_created_at ON audit_record USING brin (created_at)",
                REVOKE_SQL,
            ],
            # Unapplied: first every trigger that would write into the table being dropped.
            reverse_sql=[DROP_ALL_SQL, "DROP INDEX IF EXISTS audit_record_created_at"],
        ),
    ]

"""Phase 4: ``number`` unique per organization without blocking writes.

``CREATE UNIQUE INDEX CONCURRENTLY`` (SHARE UPDATE EXCLUSIVE; outside a transaction, hence
``atomic = False``), then ``ADD CONSTRAINT ... UNIQUE USING INDEX``: instant, it adopts the
built index. Django's state gets the matching ``UniqueConstraint``. A failed concurrent build
leaves an INVALID index (``IF NOT EXISTS`` would keep it), so the migration first drops any
leftover with ``DROP INDEX CONCURRENTLY IF EXISTS``: re-running it is safe.
"""

from django.db import migrations, models

NAME = "orders_order_org_number_uniq"


class Migration(migrations.Migration):
    atomic = False
    safe_to_retry = True  # starts by dropping a half-built index

    dependencies = [("orders", "0005_order_number_not_null")]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddConstraint(
                    model_name="order",
                    constraint=models.UniqueConstraint(
                        fields=["organization", "number"], name=NAME
                    ),
                ),
            ],
            database_operations=[
                # A previous attempt may have left an INVALID index behind.
                migrations.RunSQL(
                    f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}", migrations.RunSQL.noop
                ),
                migrations.RunSQL(
                    f"CREATE UNIQUE INDEX CONCURRENTLY {NAME} "
                    "ON orders_order (organization_id, number)",
                    f"DROP INDEX CONCURRENTLY IF EXISTS {NAME}",
                ),
                migrations.RunSQL(
                    f"ALTER TABLE orders_order ADD CONSTRAINT {NAME} UNIQUE USING INDEX {NAME}",
                    # Dropping the constraint drops its index too.
                    f"ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS {NAME}",
                ),
            ],
        ),
    ]

"""Phase 3: make ``Order.number`` NOT NULL without a long ACCESS EXCLUSIVE lock.

1. backfill stragglers (rows the previous code version wrote since 0004; usually none);
2. ``ADD CONSTRAINT ... CHECK (number IS NOT NULL) NOT VALID``: instant, new rows are checked;
3. ``VALIDATE CONSTRAINT``: scans the table under SHARE UPDATE EXCLUSIVE, writes continue;
4. ``SET NOT NULL``: PostgreSQL 12+ sees the validated CHECK and skips its own scan, so the
   ACCESS EXCLUSIVE lock is held for an instant; then the now redundant CHECK is dropped.

Non-atomic so each step commits on its own (the validation must not run inside the transaction
that took the lock of step 2). Every step is idempotent, so a re-run after a failure continues.
In production ship the code that writes ``number`` one release before this migration
(docs/migrations.md, "Two-phase NOT NULL").
"""

import importlib

from django.db import migrations, models

backfill = importlib.import_module(
    "api.v1.sales.orders.migrations.0004_backfill_order_number"
).backfill_numbers

CHECK = "orders_order_number_not_null"


class Migration(migrations.Migration):
    atomic = False
    safe_to_retry = True  # every step is idempotent (see above)

    safety_allowances = {
        "SET_NOT_NULL": "the validated CHECK (number IS NOT NULL) added just before proves the "
        "column has no NULL: PostgreSQL 12+ skips the scan, the lock is momentary",
    }

    dependencies = [("orders", "0004_backfill_order_number")]

    operations = [
        migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True),
        migrations.RunSQL(
            f"ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS {CHECK}; "
            f"ALTER TABLE orders_order ADD CONSTRAINT {CHECK} CHECK (number IS NOT NULL) NOT VALID",
            f"ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS {CHECK}",
        ),
        migrations.RunSQL(
            f"ALTER TABLE orders_order VALIDATE CONSTRAINT {CHECK}", migrations.RunSQL.noop
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="order", name="number", field=models.BigIntegerField()
                ),
            ],
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE orders_order ALTER COLUMN number SET NOT NULL",
                    "ALTER TABLE orders_order ALTER COLUMN number DROP NOT NULL",
                ),
                migrations.RunSQL(
                    f"ALTER TABLE orders_order DROP CONSTRAINT IF EXISTS {CHECK}",
                    f"ALTER TABLE orders_order ADD CONSTRAINT {CHECK} "
                    "CHECK (number IS NOT NULL) NOT VALID",
                ),
            ],
        ),
    ]

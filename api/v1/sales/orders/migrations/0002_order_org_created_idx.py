"""Index orders by (organization, created_at) without blocking writes.

CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE (writes continue) and cannot run in a
transaction, hence ``atomic = False``. If it fails half-way it leaves an INVALID index: drop it
(``DROP INDEX CONCURRENTLY orders_order_org_created_idx``) and re-run ``migrate``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("orders", "0001_initial")]

    operations = [
        AddIndexConcurrently(
            model_name="order",
            index=models.Index(
                fields=["organization", "created_at"], name="orders_order_org_created_idx"
            ),
        ),
    ]

"""Index products by (organization, id) without blocking writes: the product list's page
(``ORDER BY id LIMIT n`` inside one organization) becomes an index scan that stops after n rows,
and its ``COUNT(*)`` an index-only scan.

CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE (writes continue) and cannot run in a
transaction, hence ``atomic = False``. If it fails half-way it leaves an INVALID index: drop it
(``DROP INDEX CONCURRENTLY products_org_id_idx``) and re-run ``migrate``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("products", "0001_initial")]

    operations = [
        AddIndexConcurrently(
            model_name="product",
            index=models.Index(fields=["organization", "id"], name="products_org_id_idx"),
        ),
    ]

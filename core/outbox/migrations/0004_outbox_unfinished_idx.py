"""The sweep's index: sent rows whose task has not recorded that it finished (a few at most).

CREATE INDEX CONCURRENTLY takes SHARE UPDATE EXCLUSIVE (writes continue) and cannot run in a
transaction, hence ``atomic = False``. If it fails half-way it leaves an INVALID index: drop it
(``DROP INDEX CONCURRENTLY outbox_unfinished_idx``) and re-run ``migrate``.
"""

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("outbox", "0003_completed")]

    operations = [
        AddIndexConcurrently(
            model_name="outboxmessage",
            index=models.Index(
                fields=["sent_at"],
                condition=models.Q(sent_at__isnull=False, completed=False),
                name="outbox_unfinished_idx",
            ),
        ),
    ]

"""``OutboxMessage.completed`` (the worker records that an outbox task finished) and
``redeliveries`` (how often the sweep sent it again), issue 9.

A constant ``db_default`` is a metadata-only ``ADD COLUMN`` (no rewrite); existing rows (and
rows old code inserts during the deploy) read ``true`` = completed, so the sweep of sent but
unfinished rows (``services.requeue_unfinished``) never re-sends history. The index is built
concurrently in 0004.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("outbox", "0002_retries_and_dead_letters")]

    operations = [
        migrations.AddField(
            model_name="outboxmessage",
            name="completed",
            field=models.BooleanField(db_default=True, default=False),
        ),
        migrations.AddField(
            model_name="outboxmessage",
            name="redeliveries",
            field=models.IntegerField(db_default=0, default=0),
        ),
    ]

"""Idempotent effects: do something once per key, even when the task runs twice.

Usage inside a task::

    with once(f"orders.confirmation:{order_id}", organization_id=org_id) as first:
        if first:
            send_the_email()

The key is inserted (``INSERT ... ON CONFLICT DO NOTHING``) in the same transaction as the
block. If the block raises, the transaction rolls back, the key is gone and a retry does the
work. A concurrent second run blocks on the unique index until the first commits, then sees the
key and skips. Only an effect outside the database (an e-mail) that succeeded right before a
failed COMMIT can repeat: that window is a single statement wide.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from django.db import connection, transaction
from django.utils import timezone

from .models import TaskEffect


@contextlib.contextmanager
def once(key: str, *, organization_id: int | None = None) -> Iterator[bool]:
    """Yield True the first time ``key`` is seen (and record it on commit), else False."""
    from celery import current_task

    request = getattr(current_task, "request", None)
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {TaskEffect._meta.db_table} "
                "(key, task_name, task_id, organization_id, created_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (key) DO NOTHING RETURNING id",
                [
                    key,
                    getattr(current_task, "name", "") or "",
                    getattr(request, "id", "") or "",
                    organization_id,
                    timezone.now(),
                ],
            )
            first = cursor.fetchone() is not None
        yield first

"""django-celery-beat's ``DatabaseScheduler`` plus a heartbeat.

Schedules stay in the database (editable in the Django admin under "Periodic tasks"); the only
addition is that every scheduler tick (at least every 5 s: django-celery-beat's
``DEFAULT_MAX_INTERVAL``) records the time in Redis, so monitoring can tell that exactly the one
beat process is alive (``beat last heartbeat age``).
"""

from __future__ import annotations

import logging
import time

from django_celery_beat.schedulers import DatabaseScheduler as _DatabaseScheduler

from . import monitor

logger = logging.getLogger("core.celery_app")
HEARTBEAT_EVERY = 5.0


class DatabaseScheduler(_DatabaseScheduler):
    _last_heartbeat = 0.0

    def tick(self, *args, **kwargs):
        now = time.monotonic()
        if now - self._last_heartbeat >= HEARTBEAT_EVERY:
            try:
                monitor.record_beat_heartbeat()
                self._last_heartbeat = now
            except Exception as exc:  # noqa: BLE001 - beat must keep scheduling
                logger.warning("beat heartbeat not recorded: %s", exc)
        return super().tick(*args, **kwargs)

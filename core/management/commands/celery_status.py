"""``manage.py celery_status``: the task system at a glance (broker, queues, outbox, workers,
beat, per-task counters). Exits 1 when the broker is unreachable; ``--ping`` also asks the
workers over the broker (slower: waits ``--timeout`` seconds for answers)."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.celery_app import monitor
from core.outbox.dead_letters import dead_letter_summary
from core.outbox.services import outbox_backlog, parked_retries


class Command(BaseCommand):
    help = "Show broker, queue, outbox, worker, beat and task-counter status."

    def add_arguments(self, parser):
        parser.add_argument("--ping", action="store_true", help="Also broadcast a worker ping.")
        parser.add_argument("--timeout", type=float, default=1.0, help="Ping wait (seconds).")

    def handle(self, *args, ping=False, timeout=1.0, **options):
        status = monitor.read_status()
        out, style = self.stdout, self.style
        warnings: list[str] = []
        where = settings.CELERY_BROKER_URL.rsplit("@", 1)[-1]  # no password in the output
        rows = [
            (
                "broker",
                "reachable" if status.broker_ok else "UNREACHABLE",
                status.broker_error or where,
            )
        ]
        for name, depth in status.queues.items():
            rows.append((f"queue {name}", f"{depth.ready} ready", f"{depth.unacked} unacked"))
        try:
            backlog, oldest_age = outbox_backlog()
        except DatabaseError as exc:  # e.g. not migrated yet
            rows.append(
                ("outbox backlog", "UNKNOWN", f"{type(exc).__name__}: {exc}".splitlines()[0])
            )
        else:
            age = "-" if oldest_age is None else f"oldest {oldest_age:.0f}s"
            rows.append(("outbox backlog", str(backlog), age))
            rows.append(("parked retries", str(parked_retries()), "transient failures, waiting"))
            dead, dead_age = dead_letter_summary()
            if dead:
                warnings.append(
                    f"{dead} dead-lettered task(s): list them with `manage.py retry_dead_tasks`, "
                    "fix the cause, then re-send with `retry_dead_tasks --all` (docs/celery.md)."
                )
            rows.append(
                (
                    "dead letters",
                    str(dead),
                    "-"
                    if not dead
                    else f"oldest {dead_age:.0f}s: `manage.py retry_dead_tasks` lists/re-sends",
                )
            )
        rows.append(
            (
                "workers (heartbeat)",
                str(len(status.workers)),
                ", ".join(f"{h} {a:.0f}s" for h, a in sorted(status.workers.items())),
            )
        )
        beat = "never seen" if status.beat_age is None else f"{status.beat_age:.0f}s ago"
        rows.append(("beat last heartbeat", beat, ""))
        if status.broker_ok:
            from core.celery_app.beat import beat_lock_status

            lock = beat_lock_status()
            rows.append(
                (
                    "beat lock holder",
                    lock.holder or "nobody",
                    lock.error
                    or (f"lease {lock.ttl_left:g}s left" if lock.ttl_left is not None else ""),
                )
            )
            rows.append(("beat standbys", str(len(lock.standbys)), ", ".join(lock.standbys)))
        if ping and status.broker_ok:
            from core.celery_app import app

            replies = app.control.ping(timeout=timeout) or []
            names = sorted(name for reply in replies for name in reply)
            rows.append(("workers (ping)", str(len(names)), ", ".join(names)))
        self._table(("component", "value", "details"), rows)

        out.write("")
        task_rows = [
            (name, str(c["succeeded"]), str(c["failed"]), str(c["retried"]))
            for name, c in sorted(status.tasks.items())
        ]
        if task_rows:
            self._table(("task", "succeeded", "failed", "retried"), task_rows)
        else:
            out.write("no task counters yet (no task has finished since Redis was reset)")
        for warning in warnings:
            out.write(style.WARNING(warning))
        if not status.broker_ok:
            raise CommandError(
                f"The broker at CELERY_BROKER_URL is unreachable ({status.broker_error}). Start "
                "Redis or fix CELERY_BROKER_URL; tasks queued meanwhile wait in the outbox."
            )
        if status.broker_ok and not status.workers:
            out.write(
                style.WARNING("No worker heartbeat: start `celery -A config worker -l INFO`.")
            )

    def _table(self, header, rows):
        widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
        line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
        self.stdout.write(self.style.MIGRATE_HEADING(line))
        for row in rows:
            self.stdout.write("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)))

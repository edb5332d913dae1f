"""``manage.py retry_dead_tasks [--id ID | --all]``: re-send dead-lettered tasks.

Each dead letter is re-sent through the outbox (a new message, a new retry window), so a broker
outage at that moment loses nothing: the message waits for the relay. Effects guarded by
``once()`` (confirmation and invoice e-mails) are not repeated for work whose first attempt
did succeed. Without ``--id``/``--all`` the command lists the dead letters and changes nothing.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from core.outbox.dead_letters import resend
from core.outbox.models import DeadLetter


class Command(BaseCommand):
    help = "List dead-lettered tasks, or re-send one (--id) or all unresolved ones (--all)."

    def add_arguments(self, parser):
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--id", type=int, dest="dead_id", help="Re-send this dead letter.")
        which.add_argument(
            "--all", action="store_true", help="Re-send every dead letter not re-sent yet."
        )

    def handle(self, *args, dead_id=None, all=False, **options):
        try:
            if dead_id is not None:
                dead = DeadLetter.objects.filter(pk=dead_id).first()
                if dead is None:
                    known = list(
                        DeadLetter.objects.filter(resent_at__isnull=True).values_list(
                            "pk", flat=True
                        )[:20]
                    )
                    raise CommandError(
                        f"No dead letter with id {dead_id}. Unresolved ids: "
                        f"{', '.join(map(str, known)) or 'none'} (run retry_dead_tasks without "
                        "arguments to list them)."
                    )
                if dead.resent_at is not None:
                    self.stdout.write(
                        self.style.WARNING(
                            f"dead letter {dead.pk} was already re-sent at "
                            f"{dead.resent_at.isoformat(timespec='seconds')}; sending it again "
                            "(effects guarded by once() are not repeated)"
                        )
                    )
                self._resend([dead])
            elif all:
                self._resend(list(DeadLetter.objects.filter(resent_at__isnull=True)))
            else:
                self._list()
        except DatabaseError as exc:
            raise CommandError(
                f"The database is unreachable ({type(exc).__name__}: {exc}".splitlines()[0]
                + "): dead letters live there. Fix DATABASE_URL or start PostgreSQL, then retry."
            ) from exc

    def _describe(self, dead: DeadLetter) -> str:
        return (
            f"{dead.pk}: {dead.task_name} org={dead.organization_id or '-'} "
            f"kwargs={dead.kwargs} attempts={dead.attempts} "
            f"failed {dead.first_failed_at.isoformat(timespec='seconds')} .. "
            f"{dead.last_failed_at.isoformat(timespec='seconds')}: {dead.exception[:200]}"
        )

    def _list(self) -> None:
        rows = list(DeadLetter.objects.filter(resent_at__isnull=True))
        if not rows:
            self.stdout.write(self.style.SUCCESS("No dead letters: nothing to re-send."))
            return
        self.stdout.write(f"{len(rows)} dead letter(s) not re-sent yet:")
        for dead in rows:
            self.stdout.write("  " + self._describe(dead))
        self.stdout.write("Re-send one with --id ID, or all with --all.")

    def _resend(self, rows: list[DeadLetter]) -> None:
        if not rows:
            self.stdout.write(self.style.SUCCESS("No dead letters to re-send."))
            return
        published = 0
        for index, dead in enumerate(rows, 1):
            result = resend(dead)
            published += result.published
            how = (
                "published"
                if result.published
                else "queued in the outbox (broker unreachable: the relay publishes it)"
            )
            self.stdout.write(
                f"[{index}/{len(rows)}] re-sent {self._describe(dead)} "
                f"as task {result.message.pk}: {how}"
            )
        self.stdout.write(
            self.style.SUCCESS(
                f"Re-sent {len(rows)} dead letter(s): {published} published, "
                f"{len(rows) - published} waiting in the outbox."
            )
        )

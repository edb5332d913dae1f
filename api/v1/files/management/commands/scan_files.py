"""``manage.py scan_files [--status not_scanned --status failed] [--apply]``: queue virus scans.

For files uploaded while scanning was off (``not_scanned``), or whose scan gave up (``failed``):
after turning ``FILES_SCANNER`` on, they stay undownloadable until scanned clean. Dry run by
default (counts only); ``--apply`` marks them ``pending`` and queues one scan task each.
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from api.v1.files.models import FileStorage, ScanStatus
from api.v1.files.scanning import scanning_enabled
from api.v1.files.tasks import scan_file
from core.outbox.services import enqueue

RESCANNABLE = [ScanStatus.NOT_SCANNED, ScanStatus.FAILED, ScanStatus.PENDING]


class Command(BaseCommand):
    help = "Queue virus scans for files not scanned yet (or whose scan failed)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--status",
            action="append",
            choices=RESCANNABLE,
            help="Scan files with this status (repeatable; default: not_scanned and failed).",
        )
        parser.add_argument("--apply", action="store_true", help="Queue the scans.")

    def handle(self, *args, status=None, apply=False, verbosity=1, **options):
        if not scanning_enabled():
            raise CommandError(
                "Scanning is off: set FILES_SCANNER (e.g. FILES_SCANNER=clamd and CLAMD_ADDRESS) "
                "first, see docs/storage.md."
            )
        statuses = status or [ScanStatus.NOT_SCANNED, ScanStatus.FAILED]
        ids = list(
            FileStorage.objects.filter(scan_status__in=statuses)
            .order_by("id")
            .values_list("id", "organization_id")
        )
        if not apply:
            self.stdout.write(
                f"{len(ids)} files with status {', '.join(statuses)} would be scanned. "
                "Run again with --apply to queue the scans."
            )
            return
        for done, (file_id, organization_id) in enumerate(ids, start=1):
            with transaction.atomic():  # the status and the outbox row commit together
                FileStorage.objects.filter(pk=file_id).update(scan_status=ScanStatus.PENDING)
                enqueue(scan_file, kwargs={"file_id": file_id, "organization_id": organization_id})
            if verbosity and done % 500 == 0:
                self.stdout.write(f"  {done}/{len(ids)} queued")
        self.stdout.write(self.style.SUCCESS(f"Queued {len(ids)} scans."))

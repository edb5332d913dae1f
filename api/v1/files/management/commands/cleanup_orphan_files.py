"""``manage.py cleanup_orphan_files [--apply]``: stored objects without metadata and vice versa.

Dry run by default (lists what it would delete); ``--apply`` deletes. Objects and rows younger
than ``FILES_ORPHAN_GRACE_SECONDS`` (default 3600) are never touched. The same work runs as the
Celery task ``api.v1.files.tasks.cleanup_orphan_files`` (scheduled by beat).
"""

from django.core.management.base import BaseCommand, CommandError

from api.v1.files.cleanup import cleanup_orphans


class Command(BaseCommand):
    help = (
        "Find (and with --apply delete) stored files without metadata and metadata without files."
    )

    def add_arguments(self, parser):
        parser.add_argument("--apply", action="store_true", help="Delete what is found.")

    def handle(self, *args, apply=False, verbosity=1, **options):
        def progress(report):
            if verbosity >= 2 or (verbosity and report.directories % 100 == 0):
                self.stdout.write(
                    f"  {report.directories} directories, {report.objects_checked} objects checked"
                )

        try:
            report = cleanup_orphans(apply=apply, progress=progress)
        except Exception as exc:  # noqa: BLE001 - storage errors: tell the operator what to do
            raise CommandError(
                f"Could not walk the file storage: {type(exc).__name__}: {exc}. Check MEDIA_ROOT "
                "(or the S3 settings, docs/storage.md) and /health/ready/, then run again."
            ) from exc
        verb = "Deleted" if apply else "Would delete"
        for key in report.orphan_objects:
            self.stdout.write(f"{verb} object without metadata: {key}")
        for pk in report.orphan_rows:
            self.stdout.write(f"{verb} metadata row without object: file id {pk}")
        summary = (
            f"{report.objects_checked} objects in {report.directories} directories checked; "
            f"{len(report.orphan_objects)} orphan objects, {len(report.orphan_rows)} orphan rows."
        )
        if report.orphan_objects or report.orphan_rows:
            self.stdout.write(self.style.WARNING(summary))
            if not apply:
                self.stdout.write("Dry run: nothing deleted. Run again with --apply to delete.")
        else:
            self.stdout.write(self.style.SUCCESS(summary))

"""``manage.py list_backups``: one line per set, newest first: id, age, size, verification."""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from core.db.backups.manifest import backup_root, list_sets


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.1f}{unit}"
    return f"{seconds:.0f}s"


def _size(n: int) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return f"{n:.1f}TiB"


class Command(BaseCommand):
    help = "List backup sets in BACKUP_DIR, newest first."

    def handle(self, *args, **options):
        sets = list_sets()
        if not sets:
            self.stdout.write(f"No backup sets in {backup_root()}.")
            return
        now = datetime.now(UTC)
        self.stdout.write(f"{'ID':<22} {'AGE':>7} {'SIZE':>10}  VERIFIED")
        for s in sets:
            check = s.verification
            if not check:
                status = "never"
            elif check.get("status") == "ok":
                status = self.style.SUCCESS(
                    f"ok {check['verified_at'][:19]} (RTO {check.get('rto_seconds')}s)"
                )
            else:
                status = self.style.ERROR(f"FAILED {check['verified_at'][:19]}")
            age = _age((now - s.created_at).total_seconds())
            self.stdout.write(f"{s.id:<22} {age:>7} {_size(s.size):>10}  {status}")

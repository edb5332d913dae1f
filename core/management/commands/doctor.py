"""``manage.py doctor [--json] [--only SECTION ...]``: check the live deployment against the rules
in docs/ (docs/operations.md, "Doctor"). Exit 0 all ok, 1 warnings only, 2 anything failed."""

import json as jsonlib
import sys

from django.core.management.base import BaseCommand

from core.doctor import SECTIONS, default_context, exit_code, run_doctor


class Command(BaseCommand):
    help = "Check the deployment against the documented rules (exit 0 ok, 1 warn, 2 fail)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help='print {"findings": [...]} only')
        parser.add_argument(
            "--only", choices=SECTIONS, action="append", help="run this section (repeatable)"
        )
        parser.add_argument(
            "--timeout", type=float, default=None, help="seconds per check (DOCTOR_CHECK_TIMEOUT)"
        )

    def handle(self, *args, json=False, only=None, timeout=None, **options):
        findings = run_doctor(only=only, ctx=default_context(), timeout=timeout)
        if json:
            self.stdout.write(_dumps({"findings": [f.as_dict() for f in findings]}))
        else:
            self._table(findings)
        self.stdout.flush()
        sys.exit(exit_code(findings))

    def _table(self, findings):
        styles = {"ok": self.style.SUCCESS, "warn": self.style.WARNING, "fail": self.style.ERROR}
        width = max((len(f.id) for f in findings), default=10)
        section = None
        for f in findings:
            if f.section != section:
                section = f.section
                self.stdout.write(self.style.MIGRATE_HEADING(section))
            label = styles[f.status](f"{f.status.upper():<4}")
            self.stdout.write(f"  {label} {f.id:<{width}}  {f.message}")
            if f.hint and f.status != "ok":
                self.stdout.write(f"       {'':<{width}}  fix: {f.hint}")
        counts = {s: sum(f.status == s for f in findings) for s in ("ok", "warn", "fail")}
        self.stdout.write(f"{counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail")


def _dumps(data) -> str:
    return jsonlib.dumps(data, indent=2)

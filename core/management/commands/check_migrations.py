"""``manage.py check_migrations``: the migration safety gate (``make check-migrations``).

Defaults: every migration of the project's apps is linted; ``--new-only`` limits the lint to
migrations not on the main branch (``MIGRATION_GATE_BASE_REF``, default ``main``; untracked files
count as new). Exit status 1 on any finding. See docs/migrations.md.
"""

from django.core.management.base import BaseCommand, CommandError

from core.db.migration_gate.gate import GateError, run_gate


class Command(BaseCommand):
    help = "Fail on model/migration drift, migration conflicts and dangerous migration SQL."

    def add_arguments(self, parser):
        parser.add_argument("app_label", nargs="*", help="limit to these apps (default: all)")
        parser.add_argument(
            "--new-only",
            action="store_true",
            help="lint only migrations not on the base branch (untracked files count as new)",
        )
        parser.add_argument("--base", default=None, help="git ref of the main branch")
        parser.add_argument(
            "--show-allowed", action="store_true", help="also list allowed findings"
        )

    def handle(self, *args, app_label, new_only, base, show_allowed, **options):
        try:
            report = run_gate(
                app_labels=app_label or None,
                new_only=new_only,
                base_ref=base,
                progress=(lambda m: self.stdout.write(m)) if options["verbosity"] >= 1 else None,
            )
        except GateError as exc:
            raise CommandError(str(exc)) from exc
        verbosity = options["verbosity"]
        if verbosity >= 2:
            for app, name in report.checked:
                self.stdout.write(f"  linted {app}.{name}")
        if show_allowed or verbosity >= 2:
            for finding, reason in report.allowed:
                self.stdout.write(
                    self.style.WARNING(
                        f"allowed [{finding.code}] {finding.app_label}."
                        f"{finding.migration}: {reason}"
                    )
                )
        for finding in report.findings:
            self.stderr.write(self.style.ERROR(finding.render()))
        summary = (
            f"{len(report.checked)} migration(s) linted, {len(report.allowed)} allowed "
            f"finding(s), {len(report.findings)} finding(s)."
        )
        if not report.ok:
            raise CommandError(
                f"Migration gate failed: {summary} Fix each finding as its 'fix' line says, or "
                "add a reviewed `safety_allowances = {CODE: reason}` to that migration."
            )
        self.stdout.write(self.style.SUCCESS(f"Migration gate passed: {summary}"))

"""Run the migration safety gate.

``run_gate()`` returns a :class:`GateReport`; the management command prints it and exits non-zero
when it has findings. Steps:

1. ``makemigrations --check --dry-run``: models and migrations agree;
2. conflict check: more than one leaf migration in an app;
3. the SQL linter (:mod:`.rules`) on ``sqlmigrate`` output of every selected migration, plus
   django-migration-linter's RunPython/RunSQL checks (reversibility, ``apps.get_model``).

A finding is silenced only by an allowance declared on the migration class itself, reviewed with
the migration::

    class Migration(migrations.Migration):
        safety_allowances = {"SET_NOT_NULL": "validated CHECK (number IS NOT NULL) exists: no scan"}

An allowance needs a reason of at least ``MIN_REASON`` characters, and an allowance that no longer
matches a finding is itself a finding (so allowances cannot outlive their reason).
"""

from __future__ import annotations

import io
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import sqlparse
from django.apps import apps as django_apps
from django.conf import settings
from django.core.management import call_command
from django.db import NotSupportedError, connection
from django.db.migrations.loader import MigrationLoader
from django_migration_linter import MigrationLinter
from django_migration_linter.sql_analyser import analyse_sql_statements
from django_migration_linter.sql_analyser.base import BaseAnalyser

from .rules import ErpPostgresqlAnalyser, advice_for

MIN_REASON = 15
ALLOWANCES_ATTRIBUTE = "safety_allowances"


class _NoSqlChecks(BaseAnalyser):
    base_migration_checks: list = []
    migration_checks: list = []


class GateError(Exception):
    """The gate could not run (e.g. git is missing for --new-only)."""


@dataclass(frozen=True)
class Finding:
    app_label: str
    migration: str
    code: str
    message: str
    why: str = ""
    fix: str = ""

    def render(self) -> str:
        where = f"{self.app_label}.{self.migration}" if self.migration else self.app_label
        text = f"[{self.code}] {where}: {self.message}"
        if self.why:
            text += f"\n    why: {self.why}\n    fix: {self.fix}"
        return text


@dataclass
class GateReport:
    findings: list[Finding] = field(default_factory=list)
    allowed: list[tuple[Finding, str]] = field(default_factory=list)
    checked: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


def project_apps() -> list[str]:
    """Labels of the project's own apps (those whose code lives under BASE_DIR, not in .venv)."""
    base = Path(settings.BASE_DIR).resolve()
    labels = []
    for config in django_apps.get_app_configs():
        path = Path(config.path).resolve()
        if base in path.parents and ".venv" not in path.parts:
            labels.append(config.label)
    return labels


def check_models_match(app_labels: list[str]) -> list[Finding]:
    out = io.StringIO()
    try:
        call_command(
            "makemigrations", *app_labels, check=True, dry_run=True, stdout=out, stderr=out
        )
    except SystemExit:
        return [
            Finding(
                "*",
                "",
                "MISSING_MIGRATION",
                "models and migrations disagree; run `python manage.py makemigrations <app>` "
                "and commit the migration with the model change:\n" + out.getvalue().strip(),
            )
        ]
    return []


def check_conflicts(loader: MigrationLoader, app_labels: list[str]) -> list[Finding]:
    return [
        Finding(
            app,
            "",
            "CONFLICT",
            f"{len(leaves)} leaf migrations ({', '.join(sorted(leaves))}). Another branch added a "
            "migration to this app: rebase onto main, delete YOUR new migration file(s) of this "
            f"app, run `python manage.py makemigrations {app}` again and re-test. Don't hand-edit "
            "dependencies; use `makemigrations --merge` only if both must stay.",
        )
        for app, leaves in sorted(loader.detect_conflicts().items())
        if app in app_labels
    ]


def migration_sql(loader: MigrationLoader, app_label: str, name: str) -> list[str]:
    """The statements ``sqlmigrate`` prints (BEGIN/COMMIT included when atomic), comments off."""
    migration = loader.get_migration(app_label, name)
    state = loader.project_state((app_label, name), at_end=False)
    with connection.schema_editor(collect_sql=True, atomic=migration.atomic) as editor:
        migration.apply(state, editor, collect_sql=True)
    collected = list(editor.collected_sql)  # deferred SQL (FKs, indexes) lands on exit
    if migration.atomic and connection.features.can_rollback_ddl:
        collected = ["BEGIN;", *collected, "COMMIT;"]
    statements = []
    for chunk in collected:
        for statement in sqlparse.split(chunk):
            text = sqlparse.format(statement, strip_comments=True).strip()
            if text:
                statements.append(" ".join(text.split()))
    return statements


def _lint_one(linter: MigrationLinter, loader: MigrationLoader, key) -> list[Finding]:
    app_label, name = key
    migration = loader.get_migration(app_label, name)
    raw: list = []
    try:
        statements = [s.upper() for s in migration_sql(loader, app_label, name)]
    except NotSupportedError as exc:
        raw.append(("CONCURRENTLY_IN_ATOMIC", f"sqlmigrate refuses it: {exc}"))
        statements = []
    errors, _ignored, warnings = analyse_sql_statements(ErpPostgresqlAnalyser, statements)
    data_errors, _data_ignored, data_warnings = linter.analyse_data_migration(migration)
    for issue in [*errors, *warnings, *data_errors, *data_warnings]:
        detail = issue.message
        if issue.table:
            detail += f" (table {issue.table.lower()})"
        raw.append((issue.code, detail))
    findings = []
    for code, detail in dict.fromkeys(raw):
        advice = advice_for(code)
        findings.append(Finding(app_label, name, code, detail, advice.why, advice.fix))
    return findings


def apply_allowances(migration, findings: list[Finding], report: GateReport) -> None:
    allowances = getattr(migration, ALLOWANCES_ATTRIBUTE, {}) or {}
    found_codes = {f.code for f in findings}
    for finding in findings:
        reason = allowances.get(finding.code)
        if reason and len(reason.strip()) >= MIN_REASON:
            report.allowed.append((finding, reason.strip()))
        else:
            report.findings.append(finding)
    for code, reason in allowances.items():
        where = (migration.app_label, migration.name)
        if not reason or len(reason.strip()) < MIN_REASON:
            report.findings.append(
                Finding(
                    *where,
                    "BAD_ALLOWANCE",
                    f"allowance {code} needs a reason of at least {MIN_REASON} characters",
                )
            )
        elif code not in found_codes:
            report.findings.append(
                Finding(
                    *where,
                    "STALE_ALLOWANCE",
                    f"allowance {code} matches no finding any more: remove it",
                )
            )


def new_migration_files(base_ref: str, repo_dir: Path) -> set[Path]:
    """Migration files not on ``base_ref``: committed on this branch, modified, or untracked."""

    def git(*args: str) -> list[str]:
        try:
            result = subprocess.run(
                ["git", *args], cwd=repo_dir, capture_output=True, text=True, check=True
            )
        except (OSError, subprocess.CalledProcessError) as exc:
            detail = getattr(exc, "stderr", "") or exc
            raise GateError(
                f"git {' '.join(args)} failed: {detail}. --new-only needs a git checkout that "
                f"has the branch {base_ref!r} (set MIGRATION_GATE_BASE_REF or pass --base)."
            ) from exc
        return [line for line in result.stdout.splitlines() if line.strip()]

    merge_base = git("merge-base", "HEAD", base_ref)[0]
    changed = git("diff", "--name-only", "--diff-filter=AMR", merge_base, "--")
    untracked = git("ls-files", "--others", "--exclude-standard")
    top = Path(git("rev-parse", "--show-toplevel")[0])
    return {
        (top / name).resolve()
        for name in [*changed, *untracked]
        if "/migrations/" in name and name.endswith(".py") and not name.endswith("__init__.py")
    }


def _migration_path(migration) -> Path:
    return Path(sys.modules[migration.__module__].__file__).resolve()


def run_gate(
    *,
    app_labels: list[str] | None = None,
    new_only: bool = False,
    base_ref: str | None = None,
    skip_makemigrations: bool = False,
    progress=None,
) -> GateReport:
    """``progress(message)``, when given, hears each step (the command prints them: the gate
    takes ~20 s on a busy 2-core machine and must not look hung)."""
    say = progress or (lambda message: None)
    report = GateReport()
    labels = app_labels or project_apps()
    loader = MigrationLoader(connection, ignore_no_migrations=True, replace_migrations=False)
    say(f"checking {len(labels)} app(s) for conflicting migration leaves")
    conflicts = check_conflicts(loader, labels)
    report.findings += conflicts
    if not skip_makemigrations:
        # makemigrations refuses to compare anything while an app has two leaves.
        conflicting = {f.app_label for f in conflicts}
        if comparable := [label for label in labels if label not in conflicting]:
            say("makemigrations --check: do models and migrations agree?")
            report.findings += check_models_match(comparable)

    selected = sorted(key for key in loader.disk_migrations if key[0] in labels)
    if new_only:
        ref = base_ref or settings.MIGRATION_GATE_BASE_REF
        new_files = new_migration_files(ref, Path(settings.BASE_DIR))
        selected = [
            key for key in selected if _migration_path(loader.disk_migrations[key]) in new_files
        ]
    linter = MigrationLinter(no_output=True, no_cache=True)
    # RunSQL statements already appear in the sqlmigrate output judged above: the library's own
    # second pass over them (without CREATE TABLE context) would only duplicate findings.
    linter.sql_analyser_class = _NoSqlChecks
    say(f"linting the SQL of {len(selected)} migration(s)")
    for index, key in enumerate(selected, 1):
        say(f"  [{index}/{len(selected)}] {key[0]}.{key[1]}")
        findings = _lint_one(linter, loader, key)
        apply_allowances(loader.disk_migrations[key], findings, report)
        report.checked.append(key)
    return report

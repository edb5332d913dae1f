"""The migration safety gate: passes on the project, fails on deliberately unsafe migrations
built in temporary apps (so the gate itself cannot silently rot)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from core.db.migration_gate.gate import new_migration_files, run_gate

# sqlmigrate of a non-atomic migration must not run inside the test's transaction.
pytestmark = pytest.mark.django_db(transaction=True)

MODELS = """
from django.db import models


class Widget(models.Model):
    name = models.CharField(max_length=20)
    note = models.CharField(max_length=20, null=True)
"""

INITIAL = """
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True
    operations = [
        migrations.CreateModel(
            name="Widget",
            fields=[
                ("id", models.BigAutoField(primary_key=True, serialize=False)),
                ("name", models.CharField(max_length=20, db_index=True)),
                ("note", models.CharField(max_length=20, null=True)),
                ("kind", models.CharField(max_length=20, null=True)),
                ("old", models.IntegerField(null=True)),
            ],
        ),
    ]
"""

UNSAFE = """
from django.db import migrations, models


def forwards(apps, schema_editor):
    pass


class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    operations = [
        migrations.AddIndex("widget", models.Index(fields=["note"], name="w_note_idx")),
        migrations.AddField("widget", "size", models.IntegerField(default=0)),
        migrations.AddConstraint(
            "widget", models.CheckConstraint(condition=models.Q(size__gte=0), name="w_size")
        ),
        migrations.AlterField("widget", "note", models.CharField(max_length=20)),
        migrations.AddField(
            "widget",
            "parent",
            models.ForeignKey("self", null=True, on_delete=models.CASCADE, db_index=False),
        ),
        migrations.AlterField("widget", "name", models.TextField(db_index=True)),
        migrations.RenameField("widget", "kind", "category"),
        migrations.RemoveField("widget", "old"),
        migrations.RunSQL(
            "ALTER TABLE {app}_widget ADD COLUMN token uuid DEFAULT gen_random_uuid()"
        ),
        migrations.RunPython(forwards),
    ]
"""

CONCURRENT_IN_ATOMIC = """
from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    operations = [
        AddIndexConcurrently("widget", models.Index(fields=["kind"], name="w_kind_idx")),
    ]
"""

ALLOWED = """
from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("{app}", "0001_initial")]
    safety_allowances = {allowances}
    operations = [
        migrations.RunSQL(
            "ALTER TABLE {app}_widget ALTER COLUMN name SET NOT NULL", migrations.RunSQL.noop
        ),
    ]
"""


def make_app(root, name: str, migrations: dict[str, str], models: str = MODELS) -> None:
    package = root / name
    (package / "migrations").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(models)
    (package / "migrations" / "__init__.py").write_text("")
    for migration, source in migrations.items():
        text = textwrap.dedent(source).replace("{app}", name)
        (package / "migrations" / f"{migration}.py").write_text(text)


@pytest.fixture
def temp_apps(tmp_path, settings):
    """``temp_apps({"app": {"0001_initial": src, ...}})`` installs throwaway apps."""
    created: list[str] = []

    def install(apps: dict[str, dict[str, str]], models: str = MODELS):
        for name, migrations in apps.items():
            make_app(tmp_path, name, migrations, models)
            created.append(name)
        return override_settings(INSTALLED_APPS=[*settings.INSTALLED_APPS, *apps])

    sys.path.insert(0, str(tmp_path))
    yield install
    sys.path.remove(str(tmp_path))
    for module in [m for m in sys.modules if m.split(".")[0] in created]:
        del sys.modules[module]


def codes(report, migration=None):
    return {f.code for f in report.findings if migration is None or f.migration == migration}


def test_project_migrations_pass_the_gate():
    report = run_gate()
    assert report.ok, "\n".join(f.render() for f in report.findings)
    assert ("orders", "0005_order_number_not_null") in report.checked
    assert [f.code for f, _ in report.allowed] == ["SET_NOT_NULL"]


def test_gate_flags_each_dangerous_operation(temp_apps):
    apps = {"gate_unsafe": {"0001_initial": INITIAL, "0002_unsafe": UNSAFE}}
    with temp_apps(apps):
        report = run_gate(app_labels=["gate_unsafe"], skip_makemigrations=True)
    # The initial migration creates the table with its index: not a finding.
    assert codes(report, "0001_initial") == set()
    assert codes(report, "0002_unsafe") == {
        "CREATE_INDEX",
        "DROP_INDEX",  # CharField -> TextField drops the varchar_pattern_ops index
        "NOT_NULL",
        "ADD_CHECK",
        "SET_NOT_NULL",
        "ADD_FOREIGN_KEY",
        "ALTER_COLUMN",
        "RENAME_COLUMN",
        "DROP_COLUMN",
        "VOLATILE_DEFAULT",
        "RUNSQL_REVERSIBLE",
        "RUNPYTHON_REVERSIBLE",
    }
    for finding in report.findings:
        assert finding.why and finding.fix, finding.code


def test_concurrently_inside_atomic_migration_is_flagged(temp_apps):
    apps = {"gate_atomic": {"0001_initial": INITIAL, "0002_concurrent": CONCURRENT_IN_ATOMIC}}
    with temp_apps(apps):
        report = run_gate(app_labels=["gate_atomic"], skip_makemigrations=True)
    assert codes(report) == {"CONCURRENTLY_IN_ATOMIC"}


@pytest.mark.parametrize(
    ("allowances", "expected"),
    [
        ('{"SET_NOT_NULL": "validated CHECK constraint exists already"}', set()),
        ('{"SET_NOT_NULL": "ok"}', {"SET_NOT_NULL", "BAD_ALLOWANCE"}),
        (
            '{"SET_NOT_NULL": "validated CHECK constraint exists already", '
            '"DROP_TABLE": "nothing is dropped here at all"}',
            {"STALE_ALLOWANCE"},
        ),
    ],
)
def test_allowances_need_a_reason_and_a_finding(temp_apps, allowances, expected):
    source = ALLOWED.replace("{allowances}", allowances)
    app = f"gate_allow{len(allowances)}"
    with temp_apps({app: {"0001_initial": INITIAL, "0002_allowed": source}}):
        report = run_gate(app_labels=[app], skip_makemigrations=True)
    assert codes(report) == expected


def test_conflicting_leaves_and_model_drift_fail_the_gate(temp_apps):
    leaf = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n"
    leaf += '    dependencies = [("gate_conflict", "0001_initial")]\n'
    apps = {
        "gate_conflict": {"0001_initial": INITIAL, "0002_mine": leaf, "0002_theirs": leaf},
        "gate_drift": {"0001_initial": INITIAL},  # models.py lacks two of its fields
    }
    with temp_apps(apps):
        with pytest.raises(CommandError, match="Migration gate failed") as excinfo:
            call_command("check_migrations", "gate_conflict")
        report = run_gate(app_labels=["gate_conflict", "gate_drift"])
    assert "1 finding(s)." in str(excinfo.value)
    assert codes(report) == {"CONFLICT", "MISSING_MIGRATION"}
    conflict = next(f for f in report.findings if f.code == "CONFLICT")
    assert "rebase" in conflict.message and "0002_mine" in conflict.message
    drift = next(f for f in report.findings if f.code == "MISSING_MIGRATION")
    assert "makemigrations" in drift.message


def test_new_only_counts_branch_and_untracked_migrations(tmp_path):
    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    migrations = tmp_path / "app" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / "__init__.py").write_text("")
    (migrations / "0001_initial.py").write_text("# on main\n")
    git("init", "-q", "-b", "main")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "main")
    git("checkout", "-qb", "feature")
    (migrations / "0002_branch.py").write_text("# committed on the branch\n")
    git("-c", "user.email=t@t", "-c", "user.name=t", "add", "-A")
    git("-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "feature")
    (migrations / "0003_untracked.py").write_text("# not added yet\n")
    found = {p.name for p in new_migration_files("main", tmp_path)}
    assert found == {"0002_branch.py", "0003_untracked.py"}


def test_the_gate_prints_progress(capsys):
    call_command("check_migrations", "orders", "products")
    out = capsys.readouterr().out
    assert "checking 2 app(s) for conflicting migration leaves" in out
    assert "makemigrations --check" in out
    lines = [line for line in out.splitlines() if line.strip().startswith("[")]
    assert lines and lines[0].strip().startswith("[1/") and "orders." in out
    assert lines[-1].strip().split("]")[0] == "[{0}/{0}".format(len(lines))

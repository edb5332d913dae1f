"""Migration commands connect as DATABASE_OWNER_URL's role; everything else as DATABASE_URL's.

Real roles from ``provision_db`` on the shared server: the application role has no DDL rights,
so each schema change below would fail if it ran as that role.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import psycopg
import pytest
from django.core.management import call_command
from psycopg import sql

ROOT = Path(__file__).resolve().parents[3]
ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.integration


@pytest.fixture
def roles():
    tag = uuid.uuid4().hex[:8]
    db, owner, app = f"erp_own_{tag}", f"erp_owner_{tag}", f"erp_app_{tag}"
    urls = {
        "admin_url": ADMIN,
        "owner_url": f"postgres://{owner}:owner-pw-{tag}@127.0.0.1:5432/{db}",
        "app_url": f"postgres://{app}:app-pw-{tag}@127.0.0.1:5432/{db}",
    }
    call_command("provision_db", **urls, stdout=open(os.devnull, "w"))
    yield {**urls, "owner": owner, "app": app, "db": db, "tag": tag}
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        for role in (app, owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def manage(roles, *args):
    """``manage.py`` with the dev settings as a deployment runs it: DATABASE_URL = app role."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DATABASE_", "BACKUP_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings.dev",
        DATABASE_URL=roles["app_url"],
        BACKUP_DATABASE_URL=roles["owner_url"],
        BACKUP_ADMIN_URL=ADMIN,
        DATABASE_ADMIN_URL=ADMIN,
        SAFE_MIGRATE_BACKUP="false",
        MEDIA_ROOT=str(ROOT / ".pytest-media-unused"),
    )
    env["DATABASE_OWNER_URL"] = roles["owner_url"]
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def table_owner(roles, table):
    with psycopg.connect(roles["owner_url"]) as conn:
        row = conn.execute(
            "SELECT tableowner FROM pg_tables WHERE tablename = %s", [table]
        ).fetchone()
    return row and row[0]


def test_migrate_and_safe_migrate_run_as_the_owner_the_app_keeps_its_role(roles):
    # The application role cannot create a single table: a migrate as that role would fail.
    with (
        psycopg.connect(roles["app_url"]) as app,
        pytest.raises(psycopg.errors.InsufficientPrivilege),
    ):
        app.execute("CREATE TABLE evil (id int)")

    migrated = manage(roles, "migrate", "--no-input")
    assert migrated.returncode == 0, migrated.stderr
    assert f"Connecting as the schema owner ({roles['owner']}@127.0.0.1:5432/" in migrated.stdout
    assert f"owner-pw-{roles['tag']}" not in migrated.stdout + migrated.stderr
    assert table_owner(roles, "products_product") == roles["owner"]

    # A schema change through safe_migrate: unapply an app, then apply it again.
    back = manage(roles, "migrate", "exports", "zero", "--no-input")
    assert back.returncode == 0, back.stderr
    assert table_owner(roles, "exports_export") is None
    safe = manage(roles, "safe_migrate", "--skip-backup")
    assert safe.returncode == 0, safe.stderr
    assert "Connecting as the schema owner" in safe.stdout and "exports." in safe.stdout
    assert table_owner(roles, "exports_export") == roles["owner"]

    # Every other command (and so gunicorn and Celery, which load the same settings) keeps the
    # application role.
    shell = manage(
        roles,
        "shell",
        "-c",
        "from django.db import connection; c = connection.cursor(); "
        "c.execute('SELECT current_user'); print('user=' + c.fetchone()[0])",
    )
    assert shell.returncode == 0, shell.stderr
    assert f"user={roles['app']}" in shell.stdout

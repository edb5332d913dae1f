"""Audit records are immutable for the application role, for real: a scratch database provisioned
with its own owner and application roles, migrated as the owner, then used as the app role."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from django.core.management import call_command
from psycopg import sql

from core.db import server
from core.testing.postgres import manage

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("audit-roles")]


@pytest.fixture
def provisioned():
    admin = server.admin_endpoint()
    password = f":{admin.password}" if admin.password else ""
    tag = uuid.uuid4().hex[:8]
    db, owner, app = f"erp_audit_{tag}", f"erp_audit_owner_{tag}", f"erp_audit_app_{tag}"
    urls = {
        "admin_url": f"postgres://{admin.user}{password}@{admin.host}:{admin.port}/postgres",
        "owner_url": f"postgres://{owner}:owner-pw@{admin.host}:{admin.port}/{db}",
        "app_url": f"postgres://{app}:app-pw@{admin.host}:{admin.port}/{db}",
    }
    yield urls
    with admin.connect() as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))
        for role in (app, owner):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def _run(url: str, *args: str, check: bool = True):
    # manage() points config.settings.test at a database of the admin endpoint; override the URL.
    return manage("unused", *args, check=check, TEST_DATABASE_URL=url)


def test_app_role_cannot_change_or_delete_records_only_the_owner_prunes(provisioned):
    quiet = open("/dev/null", "w")  # noqa: SIM115
    call_command("provision_db", **provisioned, stdout=quiet)
    _run(provisioned["owner_url"], "migrate", "--no-input")

    with psycopg.connect(provisioned["app_url"], autocommit=True) as app:
        # A change made as the application role is recorded by the trigger...
        (org,) = app.execute(
            "INSERT INTO organizations_organization (created_at, updated_at, name, slug) "
            "VALUES (now(), now(), 'A', 'a') RETURNING id"
        ).fetchone()
        app.execute(
            "/*audit:,req-1*/ UPDATE organizations_organization SET name = 'B' WHERE id = %s",
            [org],
        )
        rows = app.execute(
            "SELECT action, request_id, changes -> 'name' FROM audit_record ORDER BY id"
        ).fetchall()
        assert rows == [("create", None, [None, "A"]), ("update", "req-1", ["A", "B"])]
        # ...and can't be touched by it.
        for statement in (
            "UPDATE audit_record SET action = 'create'",
            "DELETE FROM audit_record",
            "TRUNCATE audit_record",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(statement)

    # provision_db re-grants every table: the audit table stays append-only.
    call_command("provision_db", **provisioned, stdout=quiet)
    with psycopg.connect(provisioned["app_url"], autocommit=True) as app:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DELETE FROM audit_record")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("UPDATE audit_record SET object_id = '0'")

    # Retention: the app role is refused with what to do; the owner deletes only old records.
    with psycopg.connect(provisioned["owner_url"], autocommit=True) as owner:
        owner.execute(
            "UPDATE audit_record SET created_at = now() - interval '400 days' "
            "WHERE action = 'create'"
        )
    refused = _run(provisioned["app_url"], "prune_audit_log", check=False)
    assert refused.returncode != 0
    assert "DATABASE_OWNER_URL" in refused.stderr, refused.stderr
    dry = _run(provisioned["owner_url"], "prune_audit_log", "--dry-run")
    assert "would delete 1 audit records" in dry.stdout, dry.stdout
    done = _run(provisioned["owner_url"], "prune_audit_log")
    assert "deleted 1 audit records" in done.stdout, done.stdout
    with psycopg.connect(provisioned["owner_url"], autocommit=True) as owner:
        assert owner.execute("SELECT action FROM audit_record").fetchall() == [("update",)]

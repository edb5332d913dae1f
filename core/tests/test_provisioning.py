"""provision_db against the real server: least-privilege roles on a scratch database."""

import uuid

import psycopg
import pytest
from django.core.management import CommandError, call_command
from psycopg import sql

ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def scratch():
    tag = uuid.uuid4().hex[:8]
    names = {"db": f"erp_prov_{tag}", "owner": f"erp_owner_{tag}", "app": f"erp_app_{tag}"}
    yield names
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(names["db"]))
        )
        for role in (names["app"], names["owner"]):
            conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))


def urls(names):
    return {
        "admin_url": ADMIN,
        "owner_url": f"postgres://{names['owner']}:owner-pw@127.0.0.1:5432/{names['db']}",
        "app_url": f"postgres://{names['app']}:app-pw@127.0.0.1:5432/{names['db']}",
    }


@pytest.mark.integration
def test_provision_creates_least_privilege_roles_idempotently(scratch):
    call_command("provision_db", **urls(scratch), stdout=open("/dev/null", "w"))
    call_command("provision_db", **urls(scratch), stdout=open("/dev/null", "w"))  # idempotent

    owner_dsn = urls(scratch)["owner_url"]
    app_dsn = urls(scratch)["app_url"]
    with psycopg.connect(owner_dsn, autocommit=True) as owner:
        owner.execute("CREATE TABLE widgets (id serial PRIMARY KEY, name text)")
    with psycopg.connect(app_dsn, autocommit=True) as app:
        app.execute("INSERT INTO widgets (name) VALUES ('a')")
        app.execute("UPDATE widgets SET name = 'b'")
        assert app.execute("SELECT name FROM widgets").fetchone() == ("b",)
        app.execute("DELETE FROM widgets")
        rolsuper, createdb, createrole = app.execute(
            "SELECT rolsuper, rolcreatedb, rolcreaterole FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert (rolsuper, createdb, createrole) == (False, False, False)
        for ddl in (
            "CREATE TABLE evil (id int)",
            "DROP TABLE widgets",
            "ALTER TABLE widgets ADD COLUMN x int",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                app.execute(ddl)


@pytest.mark.integration
def test_provision_refuses_shared_role(scratch):
    same = urls(scratch)
    same["owner_url"] = same["app_url"]
    with pytest.raises(CommandError, match="separate, non-owner role"):
        call_command("provision_db", **same)


@pytest.mark.integration
def test_provision_explains_an_unreachable_server(scratch):
    bad = urls(scratch) | {"admin_url": "postgres://postgres@127.0.0.1:1/postgres"}
    with pytest.raises(CommandError, match="Is PostgreSQL running"):
        call_command("provision_db", **bad)


@pytest.mark.integration
def test_provision_through_multi_host_urls(scratch):
    """Admin/owner/app URLs in libpq multi-host form (a dead host first, then the server with
    target_session_attrs=read-write) provision as the single-host ones do."""
    from core.testing.ports import free_port

    hosts = f"127.0.0.1:{free_port()},127.0.0.1:5432"
    query = "?target_session_attrs=read-write"
    multi = {
        "admin_url": f"postgres://postgres@{hosts}/postgres{query}",
        "owner_url": f"postgres://{scratch['owner']}:owner-pw@{hosts}/{scratch['db']}{query}",
        "app_url": f"postgres://{scratch['app']}:app-pw@{hosts}/{scratch['db']}{query}",
    }
    call_command("provision_db", **multi, stdout=open("/dev/null", "w"))
    with psycopg.connect(multi["owner_url"], autocommit=True) as owner:
        owner.execute("CREATE TABLE widgets (id serial PRIMARY KEY)")
    with psycopg.connect(multi["app_url"], autocommit=True) as app:
        app.execute("INSERT INTO widgets DEFAULT VALUES")
        assert app.execute("SELECT current_user, count(*) FROM widgets").fetchone() == (
            scratch["app"],
            1,
        )

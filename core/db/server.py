"""Connections for maintenance work outside Django's ORM: pg_dump/pg_restore, scratch databases.

Which role does what (docs/backups.md):
- ``pg_dump`` connects as ``BACKUP_DATABASE_URL``'s role (the schema **owner**: it can read every
  table and sequence; the application role can't see everything and must not need to);
- creating/dropping/renaming databases, terminating sessions and ``pg_restore`` (which recreates
  objects with their original owners and grants) run as ``BACKUP_ADMIN_URL``'s role.
Only user, password, host(s), port(s) and libpq parameters (``target_session_attrs``...) are
taken from those URLs, which may be multi-host; the database is always the live one (``DATABASES['default']['NAME']``) or the explicit target. Empty URLs mean "the role of
``DATABASES['default']``" (tests, where that role is the local superuser).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from django.conf import settings
from psycopg import pq, sql

from core.db.provisioning import PgTarget


@dataclass(frozen=True)
class Endpoint(PgTarget):
    """A server + role + database, usable by psycopg (``connect``) and libpq tools (``env``)."""

    def env(self) -> dict[str, str]:
        """Environment for libpq client programs (password never on the command line)."""
        env = dict(os.environ)
        env.update(PGHOST=self.host, PGPORT=self.port, PGUSER=self.user)
        if self.password:
            env["PGPASSWORD"] = self.password
        else:
            env.pop("PGPASSWORD", None)
        return env

    def on(self, dbname: str) -> Endpoint:
        return replace(self, dbname=dbname)

    def dbname_arg(self, dbname: str | None = None) -> str:
        """``--dbname=`` value for pg_dump/pg_restore: a conninfo naming every host and libpq
        parameter, without the password (that goes in ``PGPASSWORD``, never on a command line)."""
        return self.conninfo(dbname, with_password=False)


def _libpq_params(options: dict) -> tuple[tuple[str, str], ...]:
    """The libpq parameters among Django's OPTIONS (not ``pool``, ``isolation_level``...)."""
    keywords = {d.keyword.decode() for d in pq.Conninfo.get_defaults()} - {
        "host",
        "port",
        "user",
        "password",
        "dbname",
    }
    return tuple(sorted((k, str(v)) for k, v in options.items() if k in keywords))


def live_endpoint(url_setting: str = "") -> Endpoint:
    default = settings.DATABASES["default"]
    endpoint = Endpoint(
        host=default.get("HOST") or "127.0.0.1",
        port=str(default.get("PORT") or "5432"),
        user=default.get("USER") or "",
        password=default.get("PASSWORD") or "",
        dbname=default["NAME"],
        params=_libpq_params(default.get("OPTIONS") or {}),
    )
    url = getattr(settings, url_setting, "") if url_setting else ""
    if url:
        target = PgTarget.from_url(url, url_setting)
        endpoint = replace(
            endpoint,
            host=target.host,
            port=target.port,
            user=target.user,
            password=target.password,
            params=target.params,
        )
    return endpoint


def dump_endpoint() -> Endpoint:
    return live_endpoint("BACKUP_DATABASE_URL")


def admin_endpoint() -> Endpoint:
    return live_endpoint("BACKUP_ADMIN_URL").on("postgres")


def pg_program(name: str) -> str:
    bin_dir = getattr(settings, "PG_BIN_DIR", "")
    return str(Path(bin_dir) / name) if bin_dir else name


def database_exists(name: str) -> bool:
    with admin_endpoint().connect() as conn:
        return (
            conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            is not None
        )


def database_is_empty(name: str) -> bool:
    """No user tables in any non-system schema."""
    with admin_endpoint().connect(name) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            "AND n.nspname NOT LIKE 'pg_toast%%'"
        ).fetchone()
    return row[0] == 0


def terminate_sessions(name: str) -> int:
    with admin_endpoint().connect() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            [name],
        ).fetchall()
    return len(rows)


def create_database(name: str, owner: str | None = None) -> None:
    statement = sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
        sql.Identifier(name)
    )
    if owner:
        statement += sql.SQL(" OWNER {}").format(sql.Identifier(owner))
    with admin_endpoint().connect() as conn:
        conn.execute(statement)


def drop_database(name: str) -> None:
    with admin_endpoint().connect() as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def rename_database(old: str, new: str) -> None:
    with admin_endpoint().connect() as conn:
        conn.execute(
            sql.SQL("ALTER DATABASE {} RENAME TO {}").format(
                sql.Identifier(old), sql.Identifier(new)
            )
        )

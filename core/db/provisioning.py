"""Create the database and its two roles, idempotently, with least privilege.

- the **owner** role owns the database and the ``public`` schema and runs migrations;
- the **application** role (what the web app and workers connect as) is not a superuser, can't
  create databases, roles or schema objects, and gets only CONNECT, USAGE and
  SELECT/INSERT/UPDATE/DELETE on tables (+ sequences), including tables the owner creates later
  (``ALTER DEFAULT PRIVILEGES``).

Everything is derived from three URLs: an administrative (superuser) one, the owner's and the
application's; the database name comes from the application URL.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from django.core.exceptions import ImproperlyConfigured
from psycopg import sql
from psycopg.conninfo import make_conninfo

from core.db.config import parse_database_url


class ProvisioningError(Exception):
    pass


@dataclass(frozen=True)
class PgTarget:
    """A server (or a libpq host list), a role and a database.

    ``host`` and ``port`` are libpq values and may be comma-separated lists (a multi-host URL);
    ``params`` holds the URL's other libpq parameters (``target_session_attrs``, ``sslmode``...),
    so a multi-host admin/owner URL reaches the read-write primary here too.
    """

    user: str
    password: str
    host: str
    port: str
    dbname: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_url(cls, url: str, url_var: str = "URL") -> PgTarget:
        try:
            parts = parse_database_url(url, url_var)
        except ImproperlyConfigured as exc:
            raise ProvisioningError(str(exc)) from None
        return cls(
            user=parts["USER"],
            password=parts["PASSWORD"],
            host=parts["HOST"] or "127.0.0.1",
            port=str(parts["PORT"] or "5432"),
            dbname=parts["NAME"],
            params=tuple(sorted((k, str(v)) for k, v in parts["OPTIONS"].items())),
        )

    def conninfo(self, dbname: str | None = None, *, with_password: bool = True) -> str:
        """A libpq connection string (for psycopg, or ``--dbname=`` of pg_dump/pg_restore with
        ``with_password=False`` and the password in ``PGPASSWORD``)."""
        params = dict(self.params)
        params.setdefault("connect_timeout", "5")
        return make_conninfo(
            "",
            host=self.host,
            port=self.port,
            user=self.user or None,
            password=(self.password or None) if with_password else None,
            dbname=dbname or self.dbname,
            **params,
        )

    def connect(self, dbname: str | None = None, **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.conninfo(dbname), **kwargs)


def _ensure_role(cur, name: str, password: str, report) -> None:
    cur.execute("SELECT rolsuper FROM pg_roles WHERE rolname = %s", [name])
    row = cur.fetchone()
    if row is None:
        cur.execute(
            sql.SQL(
                "CREATE ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION"
            ).format(sql.Identifier(name))
        )
        report(f"created role {name}")
    elif row[0]:
        raise ProvisioningError(
            f"Role {name} is a superuser; ERP Core's roles must not be. Use another role name in "
            "DATABASE_URL / DATABASE_OWNER_URL, or ALTER ROLE ... NOSUPERUSER."
        )
    else:
        report(f"role {name} exists")
    if password:
        cur.execute(
            sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(
                sql.Identifier(name), sql.Literal(password)
            )
        )


def provision(
    admin_url: str, owner_url: str, app_url: str, report: Callable[[str], None] = print
) -> None:
    admin, owner, app = (
        PgTarget.from_url(url, name)
        for url, name in (
            (admin_url, "DATABASE_ADMIN_URL"),
            (owner_url, "DATABASE_OWNER_URL"),
            (app_url, "DATABASE_URL"),
        )
    )
    if owner.user == app.user:
        raise ProvisioningError(
            "DATABASE_OWNER_URL and DATABASE_URL use the same role; the application role must be "
            "a separate, non-owner role."
        )
    if owner.dbname != app.dbname:
        raise ProvisioningError(
            f"DATABASE_OWNER_URL names database {owner.dbname!r} but DATABASE_URL {app.dbname!r}."
        )
    dbname = app.dbname
    try:
        admin_conn = admin.connect()
    except psycopg.OperationalError as exc:
        raise ProvisioningError(
            f"Cannot connect as the administrative role ({admin.user}@{admin.host}:{admin.port}): "
            f"{exc}. Is PostgreSQL running (make services)? Set DATABASE_ADMIN_URL to a superuser URL."
        ) from exc
    with admin_conn, admin_conn.cursor() as cur:
        _ensure_role(cur, owner.user, owner.password, report)
        _ensure_role(cur, app.user, app.password, report)
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [dbname])
        if cur.fetchone() is None:
            cur.execute(
                sql.SQL("CREATE DATABASE {} OWNER {} ENCODING 'UTF8' TEMPLATE template0").format(
                    sql.Identifier(dbname), sql.Identifier(owner.user)
                )
            )
            report(f"created database {dbname} (owner {owner.user})")
        else:
            report(f"database {dbname} exists")
        cur.execute(
            sql.SQL(
                "REVOKE ALL ON DATABASE {db} FROM PUBLIC; GRANT CONNECT, TEMPORARY ON DATABASE {db} TO {app}"
            ).format(db=sql.Identifier(dbname), app=sql.Identifier(app.user))
        )

    with admin.connect(dbname) as conn, conn.cursor() as cur:
        ids = {"owner": sql.Identifier(owner.user), "app": sql.Identifier(app.user)}
        for statement in (
            "ALTER SCHEMA public OWNER TO {owner}",
            "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
            "GRANT USAGE ON SCHEMA public TO {app}",
            "GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app}",
            "GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
            "GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {app}",
            "ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public "
            "GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app}",
        ):
            cur.execute(sql.SQL(statement).format(**ids))
        report(f"granted {app.user}: CONNECT, USAGE, SELECT/INSERT/UPDATE/DELETE (no DDL)")
        # Append-only tables (the audit log, core.audit) keep only SELECT/INSERT: the grant
        # above gave UPDATE/DELETE back on a re-run. Marked by their comment, set by migration.
        cur.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') "
            "AND obj_description(c.oid, 'pg_class') LIKE 'append-only%'"
        )
        for (table,) in cur.fetchall():
            cur.execute(
                sql.SQL("REVOKE UPDATE, DELETE, TRUNCATE ON {} FROM PUBLIC, {}").format(
                    sql.Identifier(table), ids["app"]
                )
            )
            report(f"{table} is append-only: {app.user} has no UPDATE/DELETE/TRUNCATE on it")

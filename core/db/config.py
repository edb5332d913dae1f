"""Build ``settings.DATABASES['default']`` from the environment.

Kept out of ``base.py`` so the rules (pooling vs persistent connections, PgBouncer, TLS) live in
one tested function.

URLs are parsed by libpq itself (``psycopg.conninfo.conninfo_to_dict`` calls
``PQconninfoParse``), not by django-environ: django-environ 0.14 keeps the hosts of a multi-host
URL but gets the ports wrong when only some hosts name one (``h1,h2:5433`` gives *both* hosts
port 5433) and keeps IPv6 brackets libpq then refuses. libpq's parser is the one that will use
the URL, so it decides: every host, every port, and every query parameter
(``target_session_attrs``, ``sslmode``, ``connect_timeout``, ...) arrive exactly as libpq reads
them, and an unknown parameter is refused when settings load instead of at the first query.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import environ
import psycopg
from psycopg.conninfo import conninfo_to_dict

URL_SCHEMES = ("postgres", "postgresql")
# Keys of a libpq conninfo that Django keeps outside OPTIONS.
_DJANGO_KEYS = {
    "dbname": "NAME",
    "user": "USER",
    "password": "PASSWORD",
    "host": "HOST",
    "port": "PORT",
}


def parse_database_url(url: str, url_var: str = "DATABASE_URL") -> dict[str, Any]:
    """A PostgreSQL URL (single- or multi-host) as Django's ``NAME/USER/PASSWORD/HOST/PORT/OPTIONS``.

    ``postgres://u:p@h1:5432,h2:5433/db?target_session_attrs=read-write`` gives
    ``HOST="h1,h2"``, ``PORT="5432,5433"`` and ``OPTIONS={"target_session_attrs": "read-write"}``;
    Django hands them to psycopg, whose libpq tries the hosts in order and keeps the first that
    accepts a read-write session. Values stay strings, as libpq gives them.
    Raises ``ImproperlyConfigured`` naming ``url_var`` (never echoing the password).
    """
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    if scheme not in URL_SCHEMES:
        raise environ.ImproperlyConfigured(
            f"{url_var} must be a postgres:// or postgresql:// URL "
            f"(got {scheme + '://...' if scheme else 'no URL scheme'}). Multi-host form: "
            "postgres://user:pass@host1:5432,host2:5432/dbname?target_session_attrs=read-write"
        )
    try:
        params = conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        message = str(exc).strip()
        password = _password_of(url)
        if password:
            message = message.replace(password, "***")
        raise environ.ImproperlyConfigured(
            f"{url_var} is not a valid libpq URL: {message}. See "
            "https://www.postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS"
        ) from None
    config: dict[str, Any] = {
        django: params.pop(key, "") or "" for key, django in _DJANGO_KEYS.items()
    }
    if not config["NAME"]:
        raise environ.ImproperlyConfigured(
            f"{url_var} names no database: add it after the hosts, e.g. postgres://.../erp_prod"
        )
    if not config["PORT"].strip(","):
        config["PORT"] = ""  # "," (two hosts, no ports): every host on libpq's default port
    config["OPTIONS"] = params
    return config


def _password_of(url: str) -> str:
    try:
        return urlsplit(url).password or ""
    except ValueError:
        return ""


def database_config(env: environ.Env, url_var: str = "DATABASE_URL") -> dict[str, Any]:
    """Return the ``default`` database dict from the URL in ``url_var``."""
    return database_config_for_url(env.str(url_var), env, url_var)


def database_config_for_url(
    url: str, env: environ.Env, url_var: str = "DATABASE_URL"
) -> dict[str, Any]:
    """The Django database dict for one URL (the primary's, or each of the read replicas').

    ``url`` may be multi-host (see ``parse_database_url``); its query parameters become
    ``OPTIONS`` and win over the ``DB_CONNECT_TIMEOUT`` default.

    Environment variables (all optional except the URL):
    - ``DB_CONN_MAX_AGE`` (seconds, default 60): persistent connections. Measured here: with 0,
      list throughput dropped 2.5x because PostgreSQL spent a core on new connections.
    - ``DB_CONN_HEALTH_CHECKS`` (default true): check a reused connection before a request uses it.
    - ``DB_POOL`` (default false): use Django's psycopg connection pool instead of persistent
      connections (``DB_POOL_MIN_SIZE``/``DB_POOL_MAX_SIZE``/``DB_POOL_TIMEOUT``). Django requires
      ``CONN_MAX_AGE=0`` with a pool, so it is forced.
    - ``DB_PGBOUNCER`` (default false): behind PgBouncer in *transaction* pooling mode nothing
      may live in a server session longer than a transaction. Server-side cursors would (the
      cursor lives on a server connection the next statement may not get), so
      ``DISABLE_SERVER_SIDE_CURSORS`` is set; so would psycopg's prepared statements, so
      ``prepare_threshold`` is pinned to ``None`` (Django's default, made explicit so an
      ``OPTIONS`` override can't turn them on; the URL can't carry ``server_side_binding``:
      libpq refuses unknown parameters). Don't combine with ``DB_POOL``.
    - ``DB_SSLMODE`` / ``DB_SSLROOTCERT``: TLS to the server (e.g. ``verify-full`` + CA file).
    - ``DB_CONNECT_TIMEOUT`` (seconds, default 2; libpq's minimum): how long a dead server
      can stall a connection attempt.
    """
    config: dict[str, Any] = {
        "ENGINE": "django.db.backends.postgresql",
        **parse_database_url(url, url_var),
    }
    options: dict[str, Any] = dict(config.get("OPTIONS", {}))
    options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
    if sslmode := env.str("DB_SSLMODE", default=""):
        options["sslmode"] = sslmode
    if sslrootcert := env.str("DB_SSLROOTCERT", default=""):
        options["sslrootcert"] = sslrootcert

    config["CONN_MAX_AGE"] = env.int("DB_CONN_MAX_AGE", default=60)
    config["CONN_HEALTH_CHECKS"] = env.bool("DB_CONN_HEALTH_CHECKS", default=True)

    if env.bool("DB_POOL", default=False):
        options["pool"] = {
            "min_size": env.int("DB_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DB_POOL_MAX_SIZE", default=10),
            "timeout": env.float("DB_POOL_TIMEOUT", default=10.0),
        }
        config["CONN_MAX_AGE"] = 0
    if env.bool("DB_PGBOUNCER", default=False):
        if "pool" in options:
            raise environ.ImproperlyConfigured(
                "DB_POOL and DB_PGBOUNCER are both set: pick one pooler. With PgBouncer in "
                "transaction mode, unset DB_POOL."
            )
        config["DISABLE_SERVER_SIDE_CURSORS"] = True
        options["prepare_threshold"] = None

    config["OPTIONS"] = options
    config.setdefault("TEST", {})
    return config


def owner_database_config(env: environ.Env, url_var: str = "DATABASE_OWNER_URL") -> dict | None:
    """Connection settings of the schema owner (migrations; core.db.owner), or None when unset.

    Direct to PostgreSQL and without pooling: migrations use session features (advisory locks,
    SET lock_timeout) that PgBouncer in transaction mode or a pool would break. TLS options are
    the same as DATABASE_URL's.
    """
    if not env.str(url_var, default=""):
        return None
    config: dict[str, Any] = parse_database_url(env.str(url_var), url_var)  # multi-host too
    options: dict[str, Any] = dict(config.get("OPTIONS", {}))
    options.setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=2))
    if sslmode := env.str("DB_SSLMODE", default=""):
        options.setdefault("sslmode", sslmode)
    if sslrootcert := env.str("DB_SSLROOTCERT", default=""):
        options.setdefault("sslrootcert", sslrootcert)
    config["OPTIONS"] = options
    return config


PRIMARY = "default"
REPLICA_ALIAS_PREFIX = "replica_"


def replica_databases(urls: list[str], env: environ.Env) -> dict[str, dict[str, Any]]:
    """``{"replica_1": {...}, ...}`` for ``DATABASE_REPLICA_URLS``: each URL parsed and
    configured like ``DATABASE_URL`` (``database_config_for_url``). In Django's tests the
    aliases mirror ``default`` (no test database of their own). Routing: core.db.replicas."""
    replicas = {}
    for index, url in enumerate((u.strip() for u in urls if u.strip()), start=1):
        config = database_config_for_url(url, env, f"DATABASE_REPLICA_URLS (replica {index})")
        config["TEST"] = {**config.get("TEST", {}), "MIRROR": PRIMARY}
        replicas[f"{REPLICA_ALIAS_PREFIX}{index}"] = config
    return replicas

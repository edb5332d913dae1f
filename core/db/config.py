"""Build ``settings.DATABASES['default']`` from the environment.

Kept out of ``base.py`` so the rules (pooling vs persistent connections, PgBouncer, TLS) live in
one tested function.
"""

from __future__ import annotations

from typing import Any

import environ


def database_config(env: environ.Env, url_var: str = "DATABASE_URL") -> dict[str, Any]:
    """Return the ``default`` database dict.

    Environment variables (all optional except the URL):
    - ``DB_CONN_MAX_AGE`` (seconds, default 60): persistent connections. Measured here: with 0,
      list throughput dropped 2.5x because PostgreSQL spent a core on new connections.
    - ``DB_CONN_HEALTH_CHECKS`` (default true): check a reused connection before a request uses it.
    - ``DB_POOL`` (default false): use Django's psycopg connection pool instead of persistent
      connections (``DB_POOL_MIN_SIZE``/``DB_POOL_MAX_SIZE``/``DB_POOL_TIMEOUT``). Django requires
      ``CONN_MAX_AGE=0`` with a pool, so it is forced.
    - ``DB_PGBOUNCER`` (default false): behind PgBouncer in *transaction* pooling mode server-side
      cursors break (the cursor lives on a server connection the next statement may not get),
      so ``DISABLE_SERVER_SIDE_CURSORS`` is set. Don't combine with ``DB_POOL``.
    - ``DB_SSLMODE`` / ``DB_SSLROOTCERT``: TLS to the server (e.g. ``verify-full`` + CA file).
    - ``DB_CONNECT_TIMEOUT`` (seconds, default 2; libpq's minimum): how long a dead server
      can stall a connection attempt.
    """
    config: dict[str, Any] = env.db_url(url_var, engine="django.db.backends.postgresql")
    options: dict[str, Any] = dict(config.get("OPTIONS", {}))
    options["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=2)
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
    config: dict[str, Any] = env.db_url(url_var, engine="django.db.backends.postgresql")
    options: dict[str, Any] = dict(config.get("OPTIONS", {}))
    options["connect_timeout"] = env.int("DB_CONNECT_TIMEOUT", default=2)
    if sslmode := env.str("DB_SSLMODE", default=""):
        options["sslmode"] = sslmode
    if sslrootcert := env.str("DB_SSLROOTCERT", default=""):
        options["sslrootcert"] = sslrootcert
    config["OPTIONS"] = options
    return config

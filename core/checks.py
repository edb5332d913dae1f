"""System checks: ERP Core runs on PostgreSQL 14+ only.

The engine check runs with every management command (it needs no connection). The server-version check needs a
connection, so it is tagged ``database``: Django runs it in ``migrate`` and in
``manage.py check --database default``.
"""

from django.conf import settings
from django.core.checks import Error, Tags, register
from django.db import connections

POSTGRES_ENGINE = "django.db.backends.postgresql"


@register()
def check_postgres_engine(app_configs=None, **kwargs):
    errors = []
    for alias, config in settings.DATABASES.items():
        if config.get("ENGINE") != POSTGRES_ENGINE:
            errors.append(
                Error(
                    f"Database '{alias}' uses {config.get('ENGINE')!r}; ERP Core supports "
                    "PostgreSQL only.",
                    hint="Set DATABASE_URL to a postgres:// URL (see .env.example).",
                    id="core.E001",
                )
            )
    return errors


@register(Tags.database)
def check_postgres_version(app_configs=None, databases=None, **kwargs):
    errors = []
    minimum = settings.MINIMUM_POSTGRES_VERSION
    for alias in databases or []:
        connection = connections[alias]
        if connection.vendor != "postgresql":
            continue
        major = connection.pg_version // 10000
        if major < minimum:
            errors.append(
                Error(
                    f"Database '{alias}' runs PostgreSQL {major}; ERP Core needs {minimum} or newer.",
                    hint="Upgrade the server (pg_upgrade) or point DATABASE_URL at a newer one.",
                    id="core.E002",
                )
            )
    return errors

"""Migration commands connect as the schema owner (``DATABASE_OWNER_URL``) when it is set.

The application role (``DATABASE_URL``) cannot run DDL (``provision_db`` grants it DML only), so
``migrate`` and ``safe_migrate`` swap the ``default`` alias's connection settings to
``settings.DATABASE_OWNER`` for the duration of the command, in every environment. Everything
else (gunicorn, Celery, every other command) keeps the application role: only the commands that
enter ``owner_connection()`` change. Without ``DATABASE_OWNER_URL`` nothing changes (a single-role
set-up, or the test settings).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections

_KEYS = ("NAME", "USER", "PASSWORD", "HOST", "PORT", "OPTIONS")


def owner_settings() -> dict | None:
    """The owner's connection settings (``settings.DATABASE_OWNER``), or None when not set."""
    return getattr(settings, "DATABASE_OWNER", None) or None


@contextmanager
def owner_connection(alias: str = DEFAULT_DB_ALIAS) -> Iterator[bool]:
    """Within the block, ``connections[alias]`` connects as the owner role (yields True), or
    unchanged when no owner is configured (yields False). Re-entrant; the previous settings and a
    fresh connection are back afterwards."""
    owner = owner_settings()
    connection = connections[alias]
    if not owner or getattr(connection, "_erp_as_owner", False):
        yield bool(owner)
        return
    saved = connection.settings_dict
    connection.close()
    connection.settings_dict = {**saved, **{key: owner[key] for key in _KEYS if key in owner}}
    connection._erp_as_owner = True
    try:
        yield True
    finally:
        connection.close()
        connection.settings_dict = saved
        connection._erp_as_owner = False


def describe_owner() -> str:
    """``user@host:port/name`` of the owner role, never the password (for command output)."""
    owner = owner_settings() or {}
    return f"{owner.get('USER')}@{owner.get('HOST')}:{owner.get('PORT')}/{owner.get('NAME')}"

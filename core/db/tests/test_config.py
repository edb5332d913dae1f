"""DATABASE_URL parsing: libpq multi-host URLs keep every host, port and parameter."""

from __future__ import annotations

import environ
import pytest
from django.db.utils import ConnectionHandler

from core.db.config import database_config_for_url, parse_database_url
from core.db.provisioning import PgTarget, ProvisioningError
from core.testing.ports import free_port

MULTI = "postgres://u:p@h1:5432,h2:5433/erp?target_session_attrs=read-write"


def test_multi_host_url_keeps_every_host_port_and_parameter():
    config = parse_database_url(MULTI)
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("h1,h2", "5432,5433", "erp")
    assert (config["USER"], config["PASSWORD"]) == ("u", "p")
    assert config["OPTIONS"] == {"target_session_attrs": "read-write"}


@pytest.mark.parametrize(
    ("url", "host", "port"),
    [
        # django-environ 0.14 gives PORT=5433 here, which libpq would apply to h1 as well.
        ("postgres://u@h1,h2:5433/erp", "h1,h2", ",5433"),
        ("postgres://u@h1:5432,h2/erp", "h1,h2", "5432,"),
        # django-environ keeps the brackets, which libpq refuses as a host name.
        ("postgres://u@[::1]:5432,[::2]:5433/erp", "::1,::2", "5432,5433"),
        ("postgres://u@h1,h2/erp", "h1,h2", ""),
        ("postgresql://u@%2Fvar%2Frun%2Fpostgresql/erp", "/var/run/postgresql", ""),
        ("postgres://u@db.example:6432/erp", "db.example", "6432"),
    ],
)
def test_hosts_and_ports_are_what_libpq_reads(url, host, port):
    config = parse_database_url(url)
    assert (config["HOST"], config["PORT"]) == (host, port)


def test_percent_encoded_credentials_and_query_parameters():
    config = parse_database_url(
        "postgres://app%40x:p%2Cw%3Ad@h1:1,h2:2/erp?sslmode=require&application_name=erp-web"
    )
    assert (config["USER"], config["PASSWORD"]) == ("app@x", "p,w:d")
    assert config["OPTIONS"] == {"sslmode": "require", "application_name": "erp-web"}


def test_bad_urls_are_refused_naming_the_variable_without_the_password():
    with pytest.raises(environ.ImproperlyConfigured, match=r"DATABASE_URL must be a postgres://"):
        parse_database_url("mysql://u:secret@h/db")
    with pytest.raises(environ.ImproperlyConfigured, match="no URL scheme"):
        parse_database_url("h1:5432/db")
    with pytest.raises(environ.ImproperlyConfigured, match='DATABASE_OWNER_URL.*"foo"') as info:
        parse_database_url("postgres://u:secret@h1,h2/db?foo=bar", "DATABASE_OWNER_URL")
    assert "secret" not in str(info.value)
    with pytest.raises(environ.ImproperlyConfigured, match="names no database"):
        parse_database_url("postgres://u:secret@h1,h2")


def test_database_config_url_parameters_win_over_the_connect_timeout_default(monkeypatch):
    monkeypatch.delenv("DB_CONNECT_TIMEOUT", raising=False)
    config = database_config_for_url(MULTI + "&connect_timeout=7", environ.Env())
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert config["OPTIONS"]["connect_timeout"] == "7"
    assert config["OPTIONS"]["target_session_attrs"] == "read-write"
    assert database_config_for_url(MULTI, environ.Env())["OPTIONS"]["connect_timeout"] == 2


def _real_multi_host_url(settings_dict, **query) -> tuple[str, int]:
    """A URL whose first host is a closed port and whose second is the test server."""
    dead = free_port()
    auth = settings_dict["USER"] + (
        f":{settings_dict['PASSWORD']}" if settings_dict["PASSWORD"] else ""
    )
    host = settings_dict["HOST"] or "127.0.0.1"
    port = settings_dict["PORT"] or "5432"
    params = "&".join(
        f"{k}={v}" for k, v in {"target_session_attrs": "read-write", **query}.items()
    )
    return (
        f"postgres://{auth}@127.0.0.1:{dead},{host}:{port}/{settings_dict['NAME']}?{params}",
        int(port),
    )


@pytest.mark.django_db
def test_django_connects_through_a_multi_host_url_skipping_a_dead_host():
    from django.db import connection

    url, port = _real_multi_host_url(connection.settings_dict)
    handler = ConnectionHandler({"default": database_config_for_url(url, environ.Env())})
    try:
        with handler["default"].cursor() as cursor:
            cursor.execute("SELECT inet_server_port(), pg_is_in_recovery()")
            assert cursor.fetchone() == (port, False)
    finally:
        handler.close_all()


@pytest.mark.django_db
def test_pg_target_reaches_the_live_host_of_a_multi_host_url():
    from django.db import connection

    url, port = _real_multi_host_url(connection.settings_dict, application_name="erp-provision")
    target = PgTarget.from_url(url, "DATABASE_ADMIN_URL")
    assert dict(target.params) == {
        "target_session_attrs": "read-write",
        "application_name": "erp-provision",
    }
    with target.connect() as conn:
        assert conn.execute(
            "SELECT inet_server_port(), current_setting('application_name')"
        ).fetchone() == (
            port,
            "erp-provision",
        )
    with pytest.raises(ProvisioningError, match="DATABASE_ADMIN_URL must be a postgres://"):
        PgTarget.from_url("mysql://x@y/z", "DATABASE_ADMIN_URL")

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from core.checks import check_postgres_engine, check_postgres_version

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k3J9-vQ2x!mZp7@Lr5#Tw8^Yb1&Hn4*Dc6(Fg0)Sa2_Ue5+Io9=Pl3-Xy7Wq"
PROD_ENV = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "SECRET_KEY": GOOD_KEY,
    "DEBUG": "false",
    "ALLOWED_HOSTS": "erp.example.com",
    "DATABASE_URL": "postgres://erp_app:pw@127.0.0.1:5432/erp_prod",
    "REDIS_URL": "redis://127.0.0.1:6379/0",
}


def run_prod(overrides: dict, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in PROD_ENV}
    env.update(PROD_ENV)
    for key, value in overrides.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    return subprocess.run(
        [sys.executable, "manage.py", *(args or ("check", "--deploy", "--fail-level", "WARNING"))],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_prod_settings_pass_check_deploy():
    result = run_prod({})
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"DEBUG": "true"}, "DEBUG is on"),
        ({"SECRET_KEY": None}, "SECRET_KEY"),
        ({"SECRET_KEY": "dev-insecure-key-not-for-production"}, "SECRET_KEY"),
        ({"SECRET_KEY": "short"}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": ""}, "ALLOWED_HOSTS is empty"),
        ({"DATABASE_URL": None}, "DATABASE_URL"),
    ],
)
def test_prod_settings_refuse_insecure_configuration(overrides, message):
    result = run_prod(overrides)
    assert result.returncode != 0
    assert message in result.stderr


@pytest.mark.filterwarnings("ignore:Overriding setting DATABASES")
def test_engine_check_rejects_other_databases(settings):
    settings.DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3"}}
    errors = check_postgres_engine()
    assert [e.id for e in errors] == ["core.E001"]
    assert "PostgreSQL only" in errors[0].msg


@pytest.mark.django_db
def test_version_check(monkeypatch):
    assert check_postgres_version(databases=["default"]) == []
    monkeypatch.setattr(connection, "pg_version", 130012)
    errors = check_postgres_version(databases=["default"])
    assert [e.id for e in errors] == ["core.E002"]
    assert "PostgreSQL 13" in errors[0].msg


@pytest.mark.django_db
def test_models_and_migrations_agree():
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


def test_database_settings_from_environment(monkeypatch):
    import environ

    from core.db.config import database_config

    monkeypatch.setenv("TEST_DB_URL", "postgres://u:p@db.example:6432/erp")
    monkeypatch.setenv("DB_SSLMODE", "verify-full")
    monkeypatch.setenv("DB_SSLROOTCERT", "/etc/ssl/ca.pem")
    monkeypatch.setenv("DB_PGBOUNCER", "true")
    monkeypatch.setenv("DB_CONN_MAX_AGE", "120")
    config = database_config(environ.Env(), "TEST_DB_URL")
    assert config["ENGINE"] == "django.db.backends.postgresql"
    assert (config["HOST"], config["PORT"], config["NAME"]) == ("db.example", "6432", "erp")
    assert config["OPTIONS"]["sslmode"] == "verify-full"
    assert config["OPTIONS"]["sslrootcert"] == "/etc/ssl/ca.pem"
    assert config["DISABLE_SERVER_SIDE_CURSORS"] is True
    assert config["CONN_MAX_AGE"] == 120

    monkeypatch.setenv("DB_PGBOUNCER", "false")
    monkeypatch.setenv("DB_POOL", "true")
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "20")
    config = database_config(environ.Env(), "TEST_DB_URL")
    assert config["OPTIONS"]["pool"]["max_size"] == 20
    assert config["CONN_MAX_AGE"] == 0

    monkeypatch.setenv("DB_PGBOUNCER", "true")
    with pytest.raises(environ.ImproperlyConfigured, match="pick one pooler"):
        database_config(environ.Env(), "TEST_DB_URL")

"""``manage.py doctor`` against real components, each bad state produced for real."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from core.celery_app import monitor
from core.db import server
from core.doctor import FAIL, OK, WARN, Context, Finding, exit_code, run_doctor
from core.outbox.models import OutboxMessage
from core.registry import register_doctor_check
from core.testing.postgres import manage
from core.testing.redis import RedisServer
from core.testing.registry import isolated_registry

PROD = Context(production=True, ping=False)
DEV = Context(production=False, ping=False)


def by_id(findings) -> dict[str, Finding]:
    return {f.id: f for f in findings}


# --- the runner and the command ------------------------------------------------------------------


def test_exit_codes_and_sections():
    assert exit_code([Finding("redis.a", OK, "")]) == 0
    assert exit_code([Finding("redis.a", OK, ""), Finding("redis.b", WARN, "")]) == 1
    assert exit_code([Finding("redis.b", WARN, ""), Finding("redis.c", FAIL, "")]) == 2
    assert Finding("redis.broker_aof", OK, "").as_dict() == {
        "id": "redis.broker_aof",
        "section": "redis",
        "status": "ok",
        "message": "",
        "hint": "",
    }


def test_a_hanging_check_is_a_fail_not_a_hang():
    with isolated_registry():
        register_doctor_check("hangs", lambda ctx: time.sleep(3) or [], section="celery")
        started = time.monotonic()
        findings = by_id(run_doctor(only=["celery"], ctx=PROD, timeout=0.3))
    assert time.monotonic() - started < 2
    assert findings["celery.hangs_check"].status == FAIL
    assert "no answer within 0.3s" in findings["celery.hangs_check"].message


def test_json_output_and_exit_code(settings, capsys):
    settings.DOCTOR_PRODUCTION = False
    with pytest.raises(SystemExit) as exited:
        call_command("doctor", "--json", "--only", "security")
    out = capsys.readouterr().out
    data = json.loads(out)  # nothing but the JSON on stdout
    assert {f["section"] for f in data["findings"]} == {"security"}
    assert all(set(f) == {"id", "section", "status", "message", "hint"} for f in data["findings"])
    assert exited.value.code == 0


# --- postgres ------------------------------------------------------------------------------------


@pytest.fixture
def throwaway_role(db):
    """A login role on the test database with only CONNECT (what provision_db's app role has
    minus the table grants); the test may give it more. Dropped afterwards."""
    name = f"erp_doctor_{uuid.uuid4().hex[:8]}"
    dbname = connection.settings_dict["NAME"]
    admin = server.admin_endpoint()
    with admin.connect() as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN PASSWORD 'pw'")
    yield name, dbname
    with admin.connect(dbname) as conn:
        conn.execute(f"DROP OWNED BY {name}")
    with admin.connect() as conn:
        conn.execute(f"DROP ROLE {name}")


def _doctor_as(role: str, dbname: str, *sections: str) -> tuple[int, dict[str, dict]]:
    args = [a for s in sections for a in ("--only", s)]
    result = manage(
        dbname,
        "doctor",
        "--json",
        *args,
        check=False,
        TEST_DATABASE_URL=f"postgres://{role}:pw@127.0.0.1:5432/{dbname}",
        DOCTOR_PRODUCTION="true",
    )
    data = json.loads(result.stdout)  # --json: stdout is the JSON document only
    return result.returncode, {f["id"]: f for f in data["findings"]}


@pytest.mark.integration
def test_app_role_with_ddl_rights_fails(throwaway_role):
    role, dbname = throwaway_role
    code, findings = _doctor_as(role, dbname, "postgres")
    assert findings["postgres.app_role"]["status"] == "ok", findings["postgres.app_role"]
    assert findings["postgres.version"]["status"] == "ok"

    with server.admin_endpoint().connect(dbname) as conn:
        conn.execute(f"GRANT CREATE ON SCHEMA public TO {role}")
        conn.execute(f"CREATE TABLE doctor_owned_{role} (id int)")
        conn.execute(f"ALTER TABLE doctor_owned_{role} OWNER TO {role}")
    code, findings = _doctor_as(role, dbname, "postgres")
    app_role = findings["postgres.app_role"]
    assert app_role["status"] == "fail"
    assert "may CREATE in schema public" in app_role["message"]
    assert "owns 1 table" in app_role["message"]
    assert "docs/database.md#roles-least-privilege" in app_role["hint"]
    assert code == 2


@pytest.mark.django_db
def test_superuser_connection_and_postgres_rules():
    # The test suite itself connects as the local superuser: exactly what production must not do.
    findings = by_id(run_doctor(only=["postgres"], ctx=PROD))
    assert findings["postgres.app_role"].status == FAIL
    assert "is a superuser" in findings["postgres.app_role"].message
    # The local server has no TLS: production fails, development doesn't mind.
    assert findings["postgres.tls"].status == FAIL
    assert by_id(run_doctor(only=["postgres"], ctx=DEV))["postgres.tls"].status == OK
    assert findings["postgres.replica_lag"].status == OK  # no replicas here
    assert findings["postgres.pg_stat_statements"].status in (OK, WARN)


@pytest.mark.django_db(transaction=True)
def test_autovacuum_off_for_a_table_is_reported():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE doctor_novacuum (id int) WITH (autovacuum_enabled = false)")
    try:
        finding = by_id(run_doctor(only=["postgres"], ctx=PROD))["postgres.autovacuum"]
        assert finding.status == FAIL
        assert "doctor_novacuum" in finding.message
        dev = by_id(run_doctor(only=["postgres"], ctx=DEV))["postgres.autovacuum"]
        assert dev.status == WARN
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE doctor_novacuum")


@pytest.mark.django_db
def test_transaction_id_age_above_the_warning_line(settings):
    settings.DOCTOR_XID_AGE_WARN = 10**12
    assert by_id(run_doctor(only=["postgres"], ctx=PROD))["postgres.xid_age"].status == OK
    settings.DOCTOR_XID_AGE_WARN = 1  # every real database is older than 1 transaction
    finding = by_id(run_doctor(only=["postgres"], ctx=PROD))["postgres.xid_age"]
    assert finding.status == FAIL and "warning line 1" in finding.message
    assert "oldest tables here: " in finding.message  # what VACUUM (FREEZE) must reach first


@pytest.mark.django_db
def test_connections_that_do_not_fit_max_connections(monkeypatch, settings):
    monkeypatch.setenv("WEB_CONCURRENCY", "2")
    settings.CELERY_WORKER_CONCURRENCY = 2
    assert by_id(run_doctor(only=["postgres"], ctx=PROD))["postgres.connections"].status == OK
    monkeypatch.setenv("WEB_CONCURRENCY", "5000")
    finding = by_id(run_doctor(only=["postgres"], ctx=PROD))["postgres.connections"]
    assert finding.status == FAIL
    assert "5000 web" in finding.message and "max_connections" in finding.hint


# --- redis ---------------------------------------------------------------------------------------


@pytest.fixture
def broker(tmp_path, settings):
    server = RedisServer(tmp_path / "broker")
    server.directory.mkdir()
    server.start()
    settings.CELERY_BROKER_URL = server.url_for(3)
    yield server
    server.stop()


@pytest.mark.integration
def test_broker_without_aof_and_caches_without_eviction(broker, redis_caches):
    # Both throwaway servers start with appendonly no and maxmemory-policy noeviction.
    findings = by_id(run_doctor(only=["redis"], ctx=PROD))
    assert findings["redis.broker_reachable"].status == OK
    assert findings["redis.broker_aof"].status == FAIL
    assert "appendonly no" in findings["redis.broker_aof"].message
    assert (
        "docs/caching.md#production-a-separate-broker-instance" in findings["redis.broker_aof"].hint
    )
    assert findings["redis.broker_noeviction"].status == OK
    for alias in ("default", "permissions", "api_responses"):
        assert findings[f"redis.cache_{alias}"].status == FAIL
    # Development: the same state warns.
    assert by_id(run_doctor(only=["redis"], ctx=DEV))["redis.broker_aof"].status == WARN

    broker.client().config_set("appendonly", "yes")
    broker.client().config_set("maxmemory-policy", "allkeys-lru")
    redis_caches.client().config_set("maxmemory-policy", "volatile-lru")
    deadline = time.monotonic() + 10  # INFO reports aof_enabled once the rewrite started
    while str(broker.client().info("persistence").get("aof_enabled")) != "1":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    findings = by_id(run_doctor(only=["redis"], ctx=PROD))
    assert findings["redis.broker_aof"].status == OK
    assert findings["redis.broker_noeviction"].status == FAIL
    assert findings["redis.cache_default"].status == OK

    redis_caches.stop()
    broker.stop()
    findings = by_id(run_doctor(only=["redis"], ctx=PROD))
    assert findings["redis.broker_reachable"].status == FAIL
    assert findings["redis.cache_default"].status == FAIL
    assert "unreachable" in findings["redis.cache_default"].message


# --- celery --------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)  # checks run in threads: the outbox row must commit
def test_workers_beat_queue_and_outbox(broker, settings):
    findings = by_id(run_doctor(only=["celery"], ctx=Context(production=True, ping_timeout=0.3)))
    assert findings["celery.workers"].status == FAIL  # nobody answers the ping
    assert findings["celery.beat"].status == FAIL
    assert "never" in findings["celery.beat"].message
    assert findings["celery.queue_backlog"].status == OK
    assert findings["celery.outbox_backlog"].status == OK

    monitor.record_worker_heartbeat("celery@doctor-test")
    monitor.record_beat_heartbeat()
    settings.DOCTOR_QUEUE_BACKLOG_MAX = 5
    broker.client(3).lpush(settings.CELERY_TASK_DEFAULT_QUEUE, *[b"{}"] * 6)
    OutboxMessage.objects.create(
        task_name="core.tests.nothing",
        args=[],
        kwargs={},
        options={},
        created_at=timezone.now() - timedelta(seconds=settings.OUTBOX_BACKLOG_MAX_AGE + 60),
        next_attempt_at=timezone.now(),
    )
    findings = by_id(run_doctor(only=["celery"], ctx=PROD))  # heartbeats, as /ops/ reads them
    assert findings["celery.workers"].status == OK
    assert "celery@doctor-test" in findings["celery.workers"].message
    assert findings["celery.beat"].status == OK
    assert findings["celery.queue_backlog"].status == WARN
    assert "6 ready" in findings["celery.queue_backlog"].message
    assert findings["celery.outbox_backlog"].status == WARN


# --- backups -------------------------------------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
@pytest.mark.xdist_group("backups")
def test_backups_missing_then_verified_then_stale(settings, tmp_path, capsys):
    from core.db.backups.manifest import list_sets

    settings.BACKUP_DIR = tmp_path / "backups"
    settings.BACKUP_FREE_SPACE_MARGIN_BYTES = 0
    findings = by_id(run_doctor(only=["backups"], ctx=PROD))
    assert findings["backups.newest"].status == FAIL
    assert "no backup set" in findings["backups.newest"].message
    assert findings["backups.verified"].status == FAIL
    dev = by_id(run_doctor(only=["backups"], ctx=DEV))
    assert dev["backups.newest"].status == WARN  # development: a warning, not a failure

    call_command("backup", "--verify", verbosity=0)
    findings = run_doctor(only=["backups"], ctx=PROD)
    assert {f.id: f.status for f in findings} == {
        "backups.newest": OK,
        "backups.verified": OK,
        "backups.rto": OK,
        "backups.retention": OK,
        "backups.free_space": OK,
    }

    newest = list_sets()[0]
    newest.manifest["created_at"] = (timezone.now() - timedelta(hours=27)).isoformat()
    newest.manifest["verification"]["status"] = "failed"
    newest.save()
    settings.BACKUP_FREE_SPACE_MARGIN_BYTES = 2**62  # more than any disk has
    findings = by_id(run_doctor(only=["backups"], ctx=PROD))
    assert findings["backups.newest"].status == FAIL
    assert "limit 26" in findings["backups.newest"].message
    assert findings["backups.verified"].status == FAIL
    assert findings["backups.free_space"].status == FAIL


# --- security ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_security_settings_in_production(settings):
    settings.DEBUG = True
    settings.SECRET_KEY = "dev-insecure-key"
    settings.ALLOWED_HOSTS = []
    settings.SECURE_SSL_REDIRECT = False
    settings.METRICS_TOKEN = ""
    findings = by_id(run_doctor(only=["security"], ctx=PROD))
    for rule in ("debug", "secret_key", "allowed_hosts", "https", "metrics_token"):
        assert findings[f"security.{rule}"].status == FAIL, rule
    assert "SECURE_SSL_REDIRECT" in findings["security.https"].message
    assert findings["security.admin_url"].message.startswith("the admin is served at /admin/")

    settings.DEBUG = False
    settings.SECRET_KEY = "x7$kq" * 12
    settings.ALLOWED_HOSTS = ["erp.example.com"]
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.METRICS_TOKEN = "scrape-token"
    findings = run_doctor(only=["security"], ctx=PROD)
    assert {f.status for f in findings} == {OK}, findings
    # Development doesn't apply the production rules.
    assert exit_code(run_doctor(only=["security"], ctx=DEV)) == 0


# --- hints point at doc sections that exist -------------------------------------------------------


def _anchor(heading: str) -> str:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes."""
    import re

    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_every_hint_names_an_existing_doc_section():
    import re

    from django.conf import settings

    root = settings.BASE_DIR
    sources = [
        root / "core" / "doctor" / "checks.py",
        root / "core" / "doctor" / "__init__.py",
        root / "api" / "v1" / "files" / "doctor.py",
    ]
    refs = {
        (doc, anchor)
        for path in sources
        for doc, anchor in re.findall(r"docs/(\w+\.md)#([\w\-]+)", path.read_text())
    }
    assert len(refs) > 10
    for doc, anchor in sorted(refs):
        headings = re.findall(r"^#+ (.+)$", (root / "docs" / doc).read_text(), re.M)
        assert anchor in {_anchor(h) for h in headings}, f"docs/{doc}#{anchor}"


def test_table_output_names_the_fix(settings, capsys):
    settings.DOCTOR_PRODUCTION = True
    settings.METRICS_TOKEN = ""
    with pytest.raises(SystemExit) as exited:
        call_command("doctor", "--only", "security")
    out = capsys.readouterr().out
    assert exited.value.code == 2
    assert "FAIL security.metrics_token" in out
    assert "fix: Set METRICS_TOKEN" in out and "docs/operations.md#security-settings" in out
    assert out.rstrip().endswith("fail")  # the "N ok, N warn, N fail" summary

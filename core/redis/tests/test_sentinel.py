"""Redis Sentinel (issue 9): caches, broker, results and monitoring on the discovered master.

One focused integration test on a real group (``core.testing.sentinel``: a master, a replica,
three ``redis-server --sentinel`` on free ports, failover within ~2 s), a real Celery worker and
the Django test client; plus fast checks of the settings that REDIS_SENTINELS produces.
"""

import contextlib
import secrets
import subprocess
import sys
import time
import uuid

import pytest
from django.core.cache import caches

from api.v1.catalog.products.tests.factories import ProductFactory
from core.celery_app import app, monitor
from core.celery_app.testing import BASE_DIR, Worker, broker_for_tests, wait_for
from core.celery_app.tests.tasks_for_tests import record_worker_pid
from core.doctor import Context
from core.doctor.checks import sentinel_findings
from core.redis import sentinel as redis_sentinel
from core.redis.config import REDIS_DATABASES, sentinel_cache_config, sentinel_kwargs
from core.testing.health import ready_with_details
from core.testing.redis import RedisServer
from core.testing.sentinel import MASTER_NAME, SentinelGroup

URL = "/api/v1/products/"


def _settings_with(**env) -> dict:
    """The settings a process started with ``env`` gets (a fresh interpreter: settings are
    computed at import)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'caches': s.CACHES, 'broker': s.CELERY_BROKER_URL, "
        "'results': s.CELERY_RESULT_BACKEND, 'transport': s.CELERY_BROKER_TRANSPORT, "
        "'broker_options': s.CELERY_BROKER_TRANSPORT_OPTIONS, "
        "'result_options': s.CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS}))"
    )
    base = {"PATH": "/usr/bin:/bin", "DJANGO_SETTINGS_MODULE": "config.settings.prod"}
    base |= {"SECRET_KEY": secrets.token_urlsafe(50), "ALLOWED_HOSTS": "erp.example.com"}
    base |= {"DATABASE_URL": "postgres://u@127.0.0.1/db"}
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={**base, **env},
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    import json

    return json.loads(result.stdout.strip().splitlines()[-1])


def test_redis_sentinels_move_every_use_onto_the_master_with_the_same_databases():
    got = _settings_with(
        REDIS_SENTINELS="10.0.0.1:26379, 10.0.0.2:26380",
        REDIS_SENTINEL_MASTER="erp",
        REDIS_SENTINEL_PASSWORD="s3",
        REDIS_PASSWORD="p@ss",
    )
    for alias in ("default", "permissions", "api_responses"):
        cache = got["caches"][alias]
        assert cache["LOCATION"] == [f"redis://erp/{REDIS_DATABASES[alias]}"]
        options = cache["OPTIONS"]
        assert options["CLIENT_CLASS"] == "django_redis.client.SentinelClient"
        assert options["CONNECTION_FACTORY"] == "django_redis.pool.SentinelConnectionFactory"
        assert options["SENTINELS"] == [["10.0.0.1", 26379], ["10.0.0.2", 26380]]
        assert options["SENTINEL_KWARGS"]["password"] == "s3"
        assert options["SENTINEL_KWARGS"]["socket_timeout"] <= 0.5  # short, as for the nodes
        assert options["PASSWORD"] == "p@ss"
    assert (
        got["broker"] == "sentinel://:p%40ss@10.0.0.1:26379/3;sentinel://:p%40ss@10.0.0.2:26380/3"
    )
    assert got["results"].endswith("@10.0.0.2:26380/4")
    assert got["transport"] == "core.celery_app.transport:SentinelTransport"
    for options in (got["broker_options"], got["result_options"]):
        assert options["master_name"] == "erp"
        assert options["sentinel_kwargs"]["password"] == "s3"
    # Without them: REDIS_URL, as before.
    plain = _settings_with(REDIS_URL="redis://r:6379")
    assert plain["caches"]["permissions"]["LOCATION"] == "redis://r:6379/1"
    assert plain["broker"] == "redis://r:6379/3"
    assert "master_name" not in plain["broker_options"]


def test_redis_sentinels_need_a_master_name():
    code = "import django; django.setup()"
    result = subprocess.run(
        [sys.executable, "-c", code],
        env={
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.prod",
            "SECRET_KEY": secrets.token_urlsafe(50),
            "ALLOWED_HOSTS": "erp.example.com",
            "DATABASE_URL": "postgres://u@127.0.0.1/db",
            "REDIS_SENTINELS": "10.0.0.1:26379",
        },
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0 and "REDIS_SENTINEL_MASTER" in result.stderr


@contextlib.contextmanager
def _on_group(group: SentinelGroup, settings):
    """This process's caches, broker, results and monitoring on the group, as REDIS_SENTINELS
    would configure them (config/settings/base.py)."""
    kwargs = sentinel_kwargs(password="", connect_timeout=0.1, socket_timeout=0.2)
    settings.REDIS_SENTINELS = group.addresses
    settings.REDIS_SENTINEL_MASTER = MASTER_NAME
    settings.REDIS_SENTINEL_KWARGS = kwargs
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        alias: sentinel_cache_config(
            MASTER_NAME,
            REDIS_DATABASES[alias],
            sentinels=group.addresses,
            sentinel_kwargs=kwargs,
            timeout=60,
            key_prefix=prefix,
            connect_timeout=0.1,
            socket_timeout=0.2,
            ignore_exceptions=alias == "default",
        )
        for alias in ("default", "permissions", "api_responses")
    }
    settings.CACHE_RETRY_AFTER = 0
    options = {**settings.CELERY_BROKER_TRANSPORT_OPTIONS, "master_name": MASTER_NAME}
    options["sentinel_kwargs"] = kwargs
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    saved = {
        name: app.conf[name]
        for name in (
            "broker_transport",
            "broker_transport_options",
            "result_backend_transport_options",
        )
    }
    app.conf.update(
        broker_transport="core.celery_app.transport:SentinelTransport",
        broker_transport_options=options,
        result_backend_transport_options=options,
    )
    try:
        with broker_for_tests(group.url_for(3), settings):
            yield
    finally:
        app.conf.update(**saved)
        app._after_fork()


@pytest.mark.integration
@pytest.mark.xdist_group("sentinel")
@pytest.mark.django_db(transaction=True)
def test_master_killed_under_requests_and_a_worker(tmp_path, settings, org, member_client, client):
    group = SentinelGroup(tmp_path / "sentinel").start()
    counters_server = RedisServer(tmp_path).start()  # outside the group: survives the kill
    counters, counters_url = counters_server.client(), counters_server.url_for(0)
    worker = None
    try:
        with _on_group(group, settings):
            env = {"REDIS_SENTINELS": group.env_value, "REDIS_SENTINEL_MASTER": MASTER_NAME}
            worker = Worker(group.url_for(3), tmp_path, name="sentinel", extra_env=env)
            worker.wait_ready()
            ProductFactory.create_batch(2, organization=org)
            admin, _ = member_client(org, "admin")
            assert admin.get(URL)["X-Cache"] == "MISS"
            assert admin.get(URL)["X-Cache"] == "HIT"  # cached on the master (Sentinel client)
            old = group.master()
            assert group.master().client(REDIS_DATABASES["api_responses"]).dbsize() > 0
            ready = ready_with_details(client).json()["components"]
            assert ready["redis_sentinel"]["master"] == f"127.0.0.1:{old.port}"
            assert ready["celery_broker"]["status"] == "ok"

            def run(tag: str, n: int, **options) -> list[str]:
                keys = [f"{tag}-{uuid.uuid4().hex}" for _ in range(n)]
                for key in keys:
                    record_worker_pid.apply_async(
                        kwargs={"key": key, "redis_url": counters_url}, **options
                    )
                return keys

            before = run("before", 5)
            wait_for(lambda: all(counters.get(k) for k in before), what="tasks before the kill")
            # Held by the worker when the master dies: received (ETA in a few seconds), in the
            # broker's unacked hash, replicated. Celery forgets them on the connection loss; the
            # consumer puts them back once connected to the new master (core/celery_app/consumer.py).
            held = run("held", 5, countdown=4)
            wait_for(
                lambda: old.client(3).hlen("unacked") == 5, what="the worker to hold the 5 tasks"
            )
            assert old.client().execute_command("WAIT", 1, 1000) == 1  # on the replica too
            group.kill_master()
            killed_at = time.monotonic()
            statuses, created = [], 0
            new_port = None
            while time.monotonic() - killed_at < 20:
                response = admin.get(URL)
                statuses.append(response.status_code)
                write = admin.post(URL, {"sku": f"S-{len(statuses)}", "name": "S", "price": "1"})
                statuses.append(write.status_code)
                created += write.status_code == 201
                components = ready_with_details(client).json()["components"]
                master = components["redis_sentinel"].get("master", "")
                if (
                    master
                    and master != f"127.0.0.1:{old.port}"
                    and components["cache.api_responses"]["status"] == "ok"
                ):
                    new_port = int(master.rsplit(":", 1)[1])
                    break
                time.sleep(0.05)
            # The API kept answering through the failover (never 500), and is back on the cache.
            assert set(statuses) <= {200, 201}, statuses
            assert new_port is not None and new_port != old.port, "no failover seen within 20 s"
            assert new_port == group.wait_failover(old.port)
            assert created == len(statuses) // 2  # every write committed
            assert admin.get(URL).json()["count"] == 2 + created  # and is seen (no stale cache)
            assert admin.get(URL)["X-Cache"] == "HIT"  # cached again, on the new master
            assert (
                caches["permissions"].client.get_client().connection_pool.get_master_address()[1]
                == new_port
            )

            # The same worker process goes on: the held messages and new ones run.
            after = run("after", 5)
            wait_for(
                lambda: all(counters.get(k) for k in [*held, *after]),
                timeout=40,
                what="the tasks held at the kill and those sent after the failover",
            )
            assert worker.log.read_text().count("task.redelivered") >= len(held)
            pids = {int(counters.get(k)) for k in [*before, *held, *after]}
            assert pids == {worker.process.pid}
            worker.check_running()
            assert monitor.read_status().broker_ok  # monitoring keys on the new master
            assert worker.hostname in monitor.read_status().workers
            assert redis_sentinel.state().master == f"127.0.0.1:{new_port}"
            doctor = {f.id: f.status for f in sentinel_findings(Context(production=True))}
            assert doctor == dict.fromkeys(
                ["redis.sentinel_reachable", "redis.sentinel_master", "redis.sentinel_quorum"],
                "ok",
            )
            # Two of three sentinels gone: no failover could be authorized any more.
            for stopped in group.sentinels[1:]:
                stopped.stop()

            def doctor_findings():
                return {f.id: f.status for f in sentinel_findings(Context(production=True))}

            # (the remaining sentinel counts the others usable until down-after-milliseconds)
            doctor = wait_for(
                lambda: (found := doctor_findings())["redis.sentinel_quorum"] == "fail" and found,
                timeout=15,
                what="the remaining sentinel to report NOQUORUM",
            )
            assert doctor["redis.sentinel_reachable"] == "fail"  # 1/3 answer, production rule
            body = ready_with_details(client).json()
            assert body["components"]["redis_sentinel"]["status"] == "degraded"
    finally:
        if worker is not None:
            worker.stop()
            print(f"--- worker log ---\n{worker.log.read_text()[-4000:]}")
        group.stop()
        counters_server.stop()

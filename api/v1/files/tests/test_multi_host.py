"""Several web hosts on local storage: readiness and doctor warn (issue 15).

Web hosts are counted from their heartbeats in Redis (core.webhosts), written by a thread each
web process starts on its first request. Here: a private redis-server as the broker, this host
beating through real requests, a second host's heartbeat recorded as that host would."""

import socket

import pytest

from core.celery_app.testing import wait_for
from core.doctor import OK, WARN, Context, run_doctor
from core.testing.health import ready_with_details
from core.testing.redis import RedisServer
from core.webhosts import hosts_key, record_web_heartbeat, web_hosts

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def private_broker(tmp_path, settings):
    server = RedisServer(tmp_path).start()
    settings.CELERY_BROKER_URL = server.url_for(0)
    yield server
    server.stop()


def storage_doctor():
    findings = run_doctor(only=["storage"], ctx=Context(production=True, ping=False))
    return {f.id: f for f in findings}["storage.multi_host"]


def test_local_storage_with_two_web_hosts_warns(private_broker, client, settings):
    settings.WEB_HEARTBEAT_EVERY = 0.2
    client.get("/health/live/")
    this_host = socket.gethostname()
    # This process beats (its first request started the thread; if an earlier test started
    # it, the next beat comes within that test's WEB_HEARTBEAT_EVERY): one host, no warning.
    wait_for(
        lambda: private_broker.client(0).zscore(hosts_key(), this_host) is not None,
        timeout=30,
        what="this host's web heartbeat",
    )
    component = ready_with_details(client).json()["components"]["storage"]
    assert list(web_hosts()) == [this_host]
    assert component["status"] == "ok" and "warnings" not in component
    assert storage_doctor().status == OK

    record_web_heartbeat(host="web-2.internal")  # a second web host
    component = ready_with_details(client).json()["components"]["storage"]
    assert component["status"] == "ok"  # a warning, the API still answers
    assert component["multi_host"] == "warn"
    assert "2 web hosts serve" in component["warnings"][0]
    assert "web-2.internal" in component["warnings"][0]
    finding = storage_doctor()
    assert finding.status == WARN and "STORAGE_BACKEND=local" in finding.message
    assert "s3" in finding.hint.lower()

    # A host whose heartbeat is older than WEB_HEARTBEAT_MAX_AGE no longer counts.
    private_broker.client(0).zadd(hosts_key(), {"web-2.internal": 1.0})
    assert storage_doctor().status == OK

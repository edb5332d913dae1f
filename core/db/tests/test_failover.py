"""Failover through a libpq multi-host DATABASE_URL, on a real primary and a real streaming
standby (synchronous, ``remote_apply``): orders are placed continuously through a live
gunicorn, the primary is stopped with ``-m immediate`` and the standby promoted. The same web,
worker and beat processes carry on against the new primary, and every order that got a 201
is on it (RPO = 0 with a synchronous standby).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.core.management import call_command
from knox.models import AuthToken

from api.v1.catalog.products.tests.factories import ProductFactory
from api.v1.sales.orders.tasks import confirmation_key
from conftest import add_member
from core.celery_app.testing import Beat, Worker, broker_for_tests
from core.testing.livestack import LiveGunicorn, app_env, clone_test_database, http
from core.testing.pgcluster import ClusterError, ClusterSet, wait_until

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.xdist_group("db-failover"),
]

# RPO = 0: a commit returns only once the standby has applied it.
SYNCHRONOUS = "synchronous_standby_names = 'standby'\nsynchronous_commit = remote_apply\n"
# The promoted standby has no standby of its own: it must not wait for one.
STANDBY = "synchronous_standby_names = ''\n"
# Functional bound only (the measured figure is printed and recorded by bench/failover.py).
RECOVERY_BOUND = 10.0


@pytest.fixture
def clusters():
    try:
        clusters = ClusterSet()
    except ClusterError as exc:
        pytest.skip(str(exc))
    yield clusters
    clusters.close()


class OrderLoad(threading.Thread):
    """Places one-line orders back to back; records (started, finished, status, order id)."""

    def __init__(self, base: str, headers: dict, product_id: int):
        super().__init__(daemon=True)
        self.base, self.headers, self.product_id = base, headers, product_id
        self.results: list[tuple[float, float, int, int | None]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        body = {"lines": [{"product": self.product_id, "quantity": 1}]}
        while not self.stop.is_set():
            started = time.monotonic()
            try:
                status, _, payload = http(
                    "POST", f"{self.base}/api/v1/orders/", body, self.headers, timeout=15
                )
            except OSError:
                status, payload = 0, None  # connection-level failure (never expected)
            order_id = payload.get("id") if status == 201 and payload else None
            self.results.append((started, time.monotonic(), status, order_id))
            if status != 201:
                time.sleep(0.05)


def test_failover_to_the_promoted_standby_loses_no_acknowledged_order(
    org, clusters, tmp_path, settings, redis_server
):
    settings.OUTBOX_RELAY_INTERVAL = 1
    call_command("setup_schedules", stdout=open("/dev/null", "w"))  # relay_outbox every second
    user = add_member(org, "admin")
    _, token_key = AuthToken.objects.create(user=user)
    product = ProductFactory(organization=org, stock=10**9)

    primary = clusters.primary("primary")
    clone_test_database(primary, "erp")
    standby = clusters.standby(primary, "standby", extra_config=STANDBY)
    # Synchronous only once the standby exists (before that every commit would wait for it).
    primary.append_config(SYNCHRONOUS)
    primary.reload()

    def standby_is_synchronous():
        with primary.connect() as conn:
            row = conn.execute(
                "SELECT sync_state FROM pg_stat_replication WHERE application_name = 'standby'"
            ).fetchone()
        return row and row[0] == "sync"

    wait_until(standby_is_synchronous, 30, "the standby to stream synchronously")

    url = (
        f"postgres://postgres@127.0.0.1:{primary.port},127.0.0.1:{standby.port}/erp"
        "?target_session_attrs=read-write"
    )
    broker_url = redis_server.url_for(0)
    common = {
        "TEST_DATABASE_URL": url,
        "CELERY_BROKER_URL": broker_url,
        "CELERY_RESULT_BACKEND": broker_url,
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "OUTBOX_RELAY_INTERVAL": "1",
        "DB_CONN_MAX_AGE": "60",  # persistent connections, as in production
    }
    web = LiveGunicorn(app_env(url, **common), tmp_path, workers=2)
    with broker_for_tests(broker_url, settings):
        worker = Worker(broker_url, tmp_path, name="failover", extra_env=common)
        beat = Beat(broker_url, tmp_path, extra_env=common)
        processes = [web, worker, beat]
        try:
            web.wait_ready()
            worker.wait_ready()
            headers = {"Authorization": f"Token {token_key}", "X-Organization": org.slug}
            loads = [OrderLoad(web.base, headers, product.pk) for _ in range(2)]
            for load in loads:
                load.start()
            wait_until(lambda: sum(len(x.results) for x in loads) >= 10, 60, "10 orders")

            killed = time.monotonic()
            primary.stop("immediate")
            promote_started = time.monotonic()
            standby.promote()
            promoted = time.monotonic()

            def written_after(moment):
                return [r for load in loads for r in load.results if r[2] == 201 and r[0] > moment]

            wait_until(lambda: len(written_after(promoted)) >= 10, 60, "10 orders after promotion")
            for load in loads:
                load.stop.set()
            for load in loads:
                load.join(timeout=30)

            results = sorted(r for load in loads for r in load.results)
            statuses = {status for *_, status, _ in results}
            last_before = max(r[1] for r in results if r[2] == 201 and r[1] <= killed)
            first_after = min(r[1] for r in results if r[2] == 201 and r[0] > killed)
            recovered = first_after - promoted
            print(
                f"\nfailover: {len(results)} order requests, statuses {sorted(statuses)}; "
                f"no successful write for {first_after - last_before:.2f}s; promotion took "
                f"{promoted - promote_started:.2f}s; writes back {recovered:.2f}s after it"
            )
            assert statuses <= {201, 503}, [r for r in results if r[2] not in {201, 503}]
            assert recovered < RECOVERY_BOUND

            # RPO = 0: every acknowledged order is on the new primary.
            acknowledged = {order_id for *_, status, order_id in results if status == 201}
            with standby.connect("erp") as conn:
                assert not conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]
                stored = {
                    row[0]
                    for row in conn.execute(
                        "SELECT id FROM orders_order WHERE id = ANY(%s)", [list(acknowledged)]
                    )
                }
            assert stored == acknowledged, f"lost {len(acknowledged - stored)} acknowledged orders"

            # The same worker sends the confirmation of every acknowledged order: those placed
            # after the promotion, and those whose task met the outage and was retried.
            keys = [confirmation_key(order_id) for order_id in acknowledged]

            def confirmed():
                with standby.connect("erp") as conn:
                    return conn.execute(
                        "SELECT count(*) FROM outbox_taskeffect WHERE key = ANY(%s)", [keys]
                    ).fetchone()[0] == len(keys)

            wait_until(confirmed, 90, "a confirmation for every acknowledged order")

            # Beat still schedules the outbox relay: a pending row written on the new primary
            # is published by relay_outbox (beat) and marked sent by the worker.
            with standby.connect("erp") as conn:
                message_id = conn.execute(
                    "INSERT INTO outbox_outboxmessage (id, task_name, args, kwargs, options, "
                    "created_at, next_attempt_at, attempts, last_error) VALUES "
                    "(gen_random_uuid(), 'tests.noop', '[]', '{}', '{}', now(), now(), 0, '') "
                    "RETURNING id"
                ).fetchone()[0]

            def relayed():
                with standby.connect("erp") as conn:
                    return conn.execute(
                        "SELECT sent_at IS NOT NULL FROM outbox_outboxmessage WHERE id = %s",
                        [message_id],
                    ).fetchone()[0]

            wait_until(relayed, 60, "beat + worker to relay an outbox row on the new primary")
            for process in (worker, beat):
                process.check_running()  # the same processes: nothing was restarted
            assert web.process.poll() is None
        finally:
            for process in processes:
                process.stop()
    # (A commit whose outbox "mark sent" UPDATE met the dying server logs outbox.mark_sent_failed
    # with its traceback: the row stays pending and the relay sends it; that is by design.)
    web_log = web.log.read_text()
    assert "Internal Server Error" not in web_log, web_log[-4000:]

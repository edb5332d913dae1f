"""Celery benchmark: ERP Core's task path next to a bare Celery task, same broker and worker.

Run: ``.venv/bin/python -m bench.celery`` (or ``make bench-celery``). Starts a private
redis-server on a free port and a ``celery -A config worker -c 2`` on a throwaway database
(``test_erp_bench_<pid>``, created with migrations and dropped at the end; needs a role with
CREATEDB: ``BENCH_DATABASE_URL``, default the local superuser).

Rows of the table:
- bare ``.delay()``: a plain ``@shared_task`` published directly (the baseline).
- erp ``delay_on_commit``: the base task (``ErpTask``: argument checks; in the worker the
  organization is looked up again) queued from ``transaction.atomic()`` with ``on_commit``.
- erp outbox: the same task through the transactional outbox (row insert + on-commit relay).
- outbox relay (periodic): pending rows published by ``relay_pending`` (SKIP LOCKED batches),
  next to the same number of bare ``send_task`` publishes.

Throughput is end to end: from the first enqueue until the worker has run the last task.
Latency is the enqueue call as the caller sees it (median).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

N = int(os.environ.get("BENCH_CELERY_TASKS", "2000"))
WARMUP = 100
ROUNDS = int(os.environ.get("BENCH_CELERY_ROUNDS", "3"))


def _setup_django() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
    # config.settings.test reads TEST_DATABASE_URL.
    os.environ["TEST_DATABASE_URL"] = os.environ.get(
        "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/erp_bench"
    )
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    import django
    from django.conf import settings

    django.setup()
    settings.DATABASES["default"]["NAME"] = f"erp_bench_{os.getpid()}"


def main() -> int:
    _setup_django()
    from django.conf import settings
    from django.db import transaction
    from django.test.utils import setup_databases, teardown_databases

    from api.v1.base_models.organization.models import Organization
    from core.celery_app import app
    from core.celery_app.testing import RedisServer, Worker, broker_for_tests, wait_for
    from core.outbox.models import OutboxMessage
    from core.outbox.services import enqueue, relay_pending

    from .celery_tasks import bare_incr, erp_incr

    tmp = Path(tempfile.mkdtemp(prefix="bench-celery-"))
    print(
        f"setting up: database, redis-server, worker (-c 2); {N} tasks per run, "
        f"{ROUNDS} interleaved rounds, medians",
        flush=True,
    )
    old_config = setup_databases(verbosity=0, interactive=False, serialized_aliases=[])
    server = RedisServer(tmp)
    server.start()
    worker = None
    try:
        with broker_for_tests(server.url_for(0), settings):
            worker = Worker(
                server.url_for(0), tmp, name="bench", concurrency=2,
                include="bench.celery_tasks", loglevel="WARNING",
                extra_env={
                    # production defaults (the test settings module turns these off)
                    "LOG_LEVEL": "WARNING",
                    "DB_CONN_MAX_AGE": "60",
                    "CELERY_ORGANIZATION_CHECK_TTL": "5",
                },
            )  # fmt: skip
            worker.wait_ready()
            counters_url = server.url_for(1)
            counters = __import__("redis").Redis.from_url(counters_url)
            org = Organization.objects.create(name="Bench", slug=f"bench-{uuid.uuid4().hex[:8]}")

            def run(label: str, enqueue_one) -> tuple[str, float, float]:
                key = f"{label}:{uuid.uuid4().hex}"
                for _ in range(WARMUP):
                    enqueue_one(key + ":warm")
                wait_for(lambda: int(counters.get(key + ":warm") or 0) == WARMUP, timeout=120)
                latencies = []
                started = time.perf_counter()
                for _ in range(N):
                    t = time.perf_counter()
                    enqueue_one(key)
                    latencies.append(time.perf_counter() - t)
                wait_for(lambda: int(counters.get(key) or 0) == N, timeout=600, what=label)
                elapsed = time.perf_counter() - started
                return label, N / elapsed, statistics.median(latencies) * 1000

            def bare(key):
                bare_incr.delay(key, counters_url)

            def erp_on_commit(key):
                with transaction.atomic():
                    erp_incr.delay_on_commit(
                        key=key, redis_url=counters_url, organization_id=org.pk
                    )

            def erp_outbox(key):
                with transaction.atomic():
                    enqueue(
                        erp_incr,
                        kwargs={"key": key, "redis_url": counters_url, "organization_id": org.pk},
                    )

            paths = [
                ("bare .delay()", bare),
                ("erp delay_on_commit", erp_on_commit),
                ("erp outbox (on-commit relay)", erp_outbox),
            ]
            # Interleaved rounds, median per path: the machine is shared and noisy.
            results: dict[str, list] = {label: [] for label, _ in paths}
            for _ in range(ROUNDS):
                for label, enqueue_one in paths:
                    results[label].append(run(label, enqueue_one))
            rows = [
                (
                    label,
                    statistics.median(r[1] for r in results[label]),
                    statistics.median(r[2] for r in results[label]),
                )
                for label, _ in paths
            ]
            bare_rate = rows[0][1]
            for label, _ in paths:
                rounds = ", ".join(f"{r[1]:.0f}" for r in results[label])
                print(f"  rounds {label}: {rounds} tasks/s")

            print()
            print(f"{'path':32} {'tasks/s e2e':>12} {'x bare':>7} {'enqueue p50 ms':>15}")
            for label, rate, latency in rows:
                print(f"{label:32} {rate:12.0f} {rate / bare_rate:7.2f} {latency:15.2f}")

            # Relay throughput: pending rows -> broker (worker drains them meanwhile).
            key = f"relay:{uuid.uuid4().hex}"
            kwargs = {"key": key, "redis_url": counters_url, "organization_id": org.pk}
            OutboxMessage.objects.bulk_create(
                OutboxMessage(task_name=erp_incr.name, kwargs=kwargs, organization_id=org.pk)
                for _ in range(N)
            )
            started = time.perf_counter()
            result = relay_pending()
            relay_rate = result["sent"] / (time.perf_counter() - started)
            wait_for(lambda: int(counters.get(key) or 0) == N, timeout=600, what="relay drain")
            bare_key = f"send:{uuid.uuid4().hex}"
            started = time.perf_counter()
            for _ in range(N):
                app.send_task(bare_incr.name, (bare_key, counters_url))
            send_rate = N / (time.perf_counter() - started)
            wait_for(lambda: int(counters.get(bare_key) or 0) == N, timeout=600, what="drain")
            print()
            print(f"{'publish only':32} {'msgs/s':>12} {'x bare':>7}")
            print(f"{'bare send_task loop':32} {send_rate:12.0f} {1:7.2f}")
            print(f"{'outbox relay_pending':32} {relay_rate:12.0f} {relay_rate / send_rate:7.2f}")
            ratio = rows[1][1] / bare_rate
            verdict = "meets" if ratio >= 0.8 else "MISSES"
            print(f"\nerp delay_on_commit / bare = {ratio:.2f} ({verdict} the >= 0.8x target)")
    finally:
        if worker is not None:
            worker.stop()
        server.stop()
        teardown_databases(old_config, verbosity=0)
    return 0


if __name__ == "__main__":
    sys.exit(main())

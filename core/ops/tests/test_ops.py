"""``/ops/`` and ``/ops/data/``: access rules, every section, history, a dead cache Redis."""

from __future__ import annotations

import time

import pytest

from api.v1.base_models.user.tests.factories import UserFactory
from core.ops import history

SECTIONS = {"components", "postgres", "redis", "celery", "backups", "files"}


@pytest.fixture
def staff(db):
    return UserFactory(is_staff=True)


@pytest.fixture
def broker(tmp_path, settings):
    from core.testing.redis import RedisServer

    (tmp_path / "broker").mkdir()
    server = RedisServer(tmp_path / "broker").start()
    settings.CELERY_BROKER_URL = server.url_for(3)
    yield server
    server.stop()


@pytest.mark.django_db
def test_anonymous_is_sent_to_the_admin_login(client):
    response = client.get("/ops/")
    assert response.status_code == 302
    assert response["Location"] == "/admin/login/?next=/ops/"
    assert client.get("/ops/data/").status_code == 401


@pytest.mark.django_db
def test_admin_index_links_to_the_operations_page(client, staff):
    client.force_login(staff)
    assert 'href="/ops/"' in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_non_staff_gets_403(client):
    client.force_login(UserFactory(is_staff=False))
    assert client.get("/ops/").status_code == 403
    response = client.get("/ops/data/")
    assert response.status_code == 403
    assert response.json() == {"detail": "Staff only."}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_staff_sees_every_section(client, staff, broker, redis_caches):
    client.force_login(staff)
    page = client.get("/ops/")
    assert page.status_code == 200
    html = page.content.decode()
    for name in SECTIONS:
        assert f'id="section-{name}"' in html
    assert "/static/core/vendor/uplot/uPlot.iife.min.js" in html  # no CDN
    data = client.get("/ops/data/").json()
    sections = {s["name"]: s for s in data["sections"]}
    assert set(sections) == SECTIONS
    assert sections["redis"]["status"] == "ok"
    labels = {i["label"] for i in sections["celery"]["items"]}
    assert {"workers", "beat heartbeat", "outbox backlog", "succeeded (last hour)"} <= labels
    assert {i["label"] for i in sections["files"]["items"]} == {"files", "bytes", "quarantined"}
    assert {"connections", "cache hit ratio", "replica lag"} <= {
        i["label"] for i in sections["postgres"]["items"]
    }
    assert [t["title"] for t in sections["backups"]["tables"]] == ["Newest sets"]
    assert len(data["charts"]["requests"]["t"]) == 360  # 10 s slots over the last hour

    redis_caches.stop()
    data = client.get("/ops/data/").json()
    redis = next(s for s in data["sections"] if s["name"] == "redis")
    assert redis["status"] == "fail"
    assert {row["cells"][1] for row in redis["tables"][0]["rows"][:3]} == {"DOWN"}
    postgres = next(s for s in data["sections"] if s["name"] == "postgres")
    assert postgres["status"] in ("ok", "warn")  # the rest keeps working


@pytest.mark.integration
def test_request_history_adds_up_processes(broker, settings):
    counter = history.RequestCounter()
    now = time.time()
    for ms in (10.0, 30.0):
        counter._pending.setdefault(history._slot(now), [0, 0.0, 0.0])
        entry = counter._pending[history._slot(now)]
        entry[0] += 1
        entry[1] += ms
        entry[2] = max(entry[2], ms)
    counter.flush()
    other = history.RequestCounter()  # another process, same slot
    other._pending[history._slot(now)] = [2, 100.0, 80.0]
    other.flush()
    series = history.request_series(now)
    assert series["t"][-1] == history._slot(now)
    assert series["rate"][-1] == 4 / history.SLOT_SECONDS
    assert series["latency_ms"][-1] == 35.0
    assert series["max_ms"][-1] == 80.0
    assert series["rate"][0] == 0 and series["latency_ms"][0] is None


@pytest.mark.integration
def test_samples_one_per_slot_and_task_deltas(broker):
    now = time.time()
    history.record_sample({"celery": 3}, {"succeeded": 10, "failed": 1}, now - 1200)
    history.record_sample({"celery": 5}, {"succeeded": 12, "failed": 1}, now - 1200)  # same slot
    history.record_sample({"celery": 1}, {"succeeded": 20, "failed": 4}, now)
    rows = history.samples(now)
    assert [r["q"]["celery"] for r in rows] == [3, 1]
    assert history.queue_series(rows)["series"] == {"celery": [3, 1]}
    assert history.task_deltas(rows, {"succeeded": 25, "failed": 4}) == {
        "succeeded": 15,
        "failed": 3,
    }


@pytest.mark.integration
@pytest.mark.django_db
def test_real_requests_reach_the_chart(client, broker):
    for _ in range(3):
        assert client.get("/health/live/").status_code == 200
    client.get("/static/core/ops/ops.css")  # static files are not counted
    history.counter.flush()
    series = history.request_series()
    assert sum(series["rate"]) * history.SLOT_SECONDS >= 3
    assert any(v is not None for v in series["latency_ms"])

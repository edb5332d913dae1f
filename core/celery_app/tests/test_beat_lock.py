"""One beat dispatches across hosts (issue 15): two real beat processes, a real worker.

Both beats run ``core.celery_app.beat.DatabaseScheduler`` against the same private
redis-server and the test database, with a 1-second schedule. Each dispatch is logged by the
beat that sent it (``beat.dispatch entry=...``) and recorded by the worker that ran
it, so the test can tell who sent what and that nothing was sent twice.
"""

import contextlib
import io
import json
import os
import re
import signal
import time
from unittest import mock

import pytest

from core.celery_app import beat as beat_module
from core.celery_app import monitor
from core.celery_app.testing import Beat, wait_for
from core.testing.health import ready_with_details

pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("beat-lock"),
    pytest.mark.django_db(transaction=True),
]

TICK = "erp-test:beat-lock-tick"
SENT = re.compile(
    rf"beat\.dispatch entry={re.escape(TICK)} task=\S+ by=\S+ run_at=(\d+\.\d+)$", re.MULTILINE
)


def _sends(beat: Beat) -> list[float]:
    """The runs ``beat`` sent of the test schedule, as the times they were reserved for (each
    run's new ``last_run_at``): one value per tick; log lines can lag it under load."""
    return [float(m.group(1)) for m in SENT.finditer(beat.log.read_text())]


def _schedule_every_second(redis_url: str, key: str) -> None:
    from django_celery_beat.models import IntervalSchedule, PeriodicTask

    PeriodicTask.objects.update(enabled=False)  # only the test's schedule runs
    every, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(
        name=TICK,
        task="tests.beat_tick",
        interval=every,
        kwargs=json.dumps({"key": key, "redis_url": redis_url}),
    )


def _min_gap(times: list[float]) -> float:
    times = sorted(times)
    return min((b - a for a, b in zip(times, times[1:], strict=False)), default=99.0)


def test_two_beats_dispatch_each_tick_once_and_a_standby_takes_over(broker, start_worker, tmp_path):
    key = "beat-lock-runs"
    counters = broker.client(5)
    _schedule_every_second(broker.url_for(5), key)
    start_worker("beat-lock")
    beats = [Beat(broker.url_for(0), tmp_path, name=name) for name in ("beat-a", "beat-b")]
    try:
        # Both beats up: one holds the lease, the other says so once (then once a minute).
        def roles():
            for b in beats:
                b.check_running()
            logs = [b.log.read_text() for b in beats]
            acquired = [i for i, log in enumerate(logs) if "beat lock acquired" in log]
            standing = [i for i, log in enumerate(logs) if "; standing by" in log]
            return (acquired, standing) if len(acquired) == 1 and len(standing) == 1 else None

        (active_i,), (standby_i,) = wait_for(roles, timeout=60, what="one holder, one standby")
        assert active_i != standby_i
        active, standby = beats[active_i], beats[standby_i]
        assert f"beat lock held by {monitor_name(active)}; standing by" in standby.log.read_text()

        # 1. Over 20 s each tick is dispatched once, by the holder only.
        wait_for(lambda: counters.llen(key) >= 1, timeout=30, what="the first tick's run")
        start_runs = counters.llen(key)
        time.sleep(20)
        runs = counters.llen(key) - start_runs
        assert 15 <= runs <= 22, f"{runs} runs in 20 s of a 1 s schedule"
        assert _sends(standby) == [], "the standby dispatched"
        assert _min_gap(_sends(active)) > 0.9  # 1 s schedule: consecutive ticks, none twice

        # Readiness data and doctor: one holder, one standby, one dispatcher.
        lock = beat_module.beat_lock_status()
        assert lock.holder == monitor_name(active)
        assert lock.standbys == [monitor_name(standby)]
        assert lock.dispatchers == [monitor_name(active)]

        # 2. SIGKILL the holder: its lease expires, the standby takes over within 30 s.
        sent_before_kill = len(_sends(active))
        os.killpg(active.process.pid, signal.SIGKILL)
        active.process.wait(timeout=10)
        killed_at = time.time()
        wait_for(
            lambda: "beat lock acquired" in standby.log.read_text(),
            timeout=30,
            what="the standby to take over within 30 s",
        )
        took_over_in = time.time() - killed_at
        wait_for(lambda: _sends(standby), timeout=10, what="the new holder's first dispatch")
        time.sleep(5)
        standby.check_running()

        # 3. Still no tick twice: the two beats' sends never overlap or come closer than the
        # schedule allows, and every send ran exactly once.
        old, new = _sends(active), _sends(standby)
        assert len(old) == sent_before_kill  # the killed beat sent nothing more (it is dead)
        assert min(new) > max(old) + 1, (max(old), min(new))
        assert _min_gap(old + new) > 0.9
        wait_for(lambda: counters.llen(key) >= len(old) + len(new) - 1, timeout=20, what="the runs")
        time.sleep(2)
        ran = len(_runs(counters, key))
        # The worker ran what was sent, once each (+1: a send may be in flight at the count).
        assert len(old) + len(new) <= ran + 1 and ran <= len(_sends(active)) + len(_sends(standby))
        assert beat_module.beat_lock_status().holder == monitor_name(standby)
        print(f"takeover after SIGKILL: {took_over_in:.1f} s; sends {len(old)} + {len(new)}")
    finally:
        for b in beats:
            b.stop()
            print(f"--- {b.name} log ---\n{b.log.read_text()[-3000:]}")


def _runs(counters, key):
    return [float(v) for v in counters.lrange(key, 0, -1)]


def monitor_name(beat: Beat) -> str:
    import socket

    return f"{socket.gethostname()}:{beat.process.pid}"


# --- the fence and the monitoring, in this process on a private redis-server -----------------


def _scheduler():
    from core.celery_app import app
    from core.celery_app.beat import DatabaseScheduler

    return DatabaseScheduler(app=app)


def _ready(queue: str = "celery") -> int:
    return monitor.read_status().queues[queue].ready


def test_a_beat_that_lost_its_lease_sends_nothing(broker, settings):
    from django_celery_beat.models import PeriodicTask

    _schedule_every_second(broker.url_for(5), "fence-runs")
    scheduler = _scheduler()

    def tick_until(n: int) -> None:
        wait_for(lambda: _ready() >= n or (scheduler.tick(), False)[1], timeout=10, what="a send")

    try:
        scheduler.tick()  # takes the free lease
        assert scheduler.lease.held
        tick_until(1)
        assert _ready() == 1
        # Saved before it was sent: a beat taking over now would not send this run again.
        assert PeriodicTask.objects.get(name=TICK).last_run_at is not None

        # Paused past the TTL: the lease expired and another beat took it.
        broker.client(0).set(beat_module.lock_key(), "other-host:42:token", px=20_000)
        entry = scheduler.schedule[TICK]
        scheduler.apply_entry(entry, producer=scheduler.producer)  # a due entry, lease lost
        assert _ready() == 1, "sent without the lease"
        assert not scheduler.lease.held
        assert scheduler.tick() == scheduler._step()  # standing by
        assert _ready() == 1
        assert beat_module.beat_lock_status().holder == "other-host:42"

        # The other beat is gone (its lease expired): this one takes over again and sends.
        broker.client(0).delete(beat_module.lock_key())
        scheduler._last_attempt = 0.0
        scheduler.tick()
        assert scheduler.lease.held
        tick_until(2)
    finally:
        scheduler.close()
    assert broker.client(0).get(beat_module.lock_key()) is None  # a clean stop releases it


def test_a_database_outage_makes_beat_wait_not_exit(broker, settings, monkeypatch, caplog):
    """make chaos, PostgreSQL restart: the schedule query raised OperationalError out of tick()
    and beat exited. Now the tick waits one step and the next one works again."""
    from django.db import OperationalError
    from django_celery_beat.schedulers import DatabaseScheduler as Upstream

    scheduler = _scheduler()
    try:
        scheduler.tick()  # takes the lease
        assert scheduler.lease.held

        def down(self, *args, **kwargs):
            raise OperationalError("connection refused")

        with monkeypatch.context() as patch:
            patch.setattr(Upstream, "tick", down)
            assert scheduler.tick() == scheduler._step()
            assert scheduler.tick() == scheduler._step()
        lines = [r.getMessage() for r in caplog.records if "database unreachable" in r.getMessage()]
        assert len(lines) == 1  # logged once per outage, not per tick
        assert scheduler.tick() <= scheduler._step()  # back
        assert scheduler.lease.held
    finally:
        scheduler.close()


def test_a_schedule_change_right_after_a_send_does_not_send_it_again(broker, settings):
    """django-celery-beat rebuilds its heap from the schedule after a change; the entry just
    sent must not look due again (it did: two sends 0.2 s apart in the two-beat test)."""
    _schedule_every_second(broker.url_for(5), "resend-runs")
    scheduler = _scheduler()
    try:
        wait_for(lambda: _ready() >= 1 or (scheduler.tick(), False)[1], timeout=10, what="a send")
        scheduler._heap_invalidated = True  # what "DatabaseScheduler: Schedule changed" does
        for _ in range(5):
            scheduler.tick()
        assert _ready() == 1, "the run just sent was sent again"
    finally:
        scheduler.close()


def test_holder_and_standbys_in_readiness_doctor_and_celery_status(broker, client, settings):
    from django.core.management import call_command

    from core.doctor import FAIL, OK, Context, run_doctor

    holder = beat_module.BeatLease(name="host-a:1")
    assert holder.try_acquire()
    assert not beat_module.BeatLease(name="host-b:2").try_acquire()  # one holder at a time
    with monitor_as("host-a:1"):
        beat_module.record_beat(dispatching=True)
    with monitor_as("host-b:2"):
        beat_module.record_beat(dispatching=False)

    beat = ready_with_details(client).json()["components"]["celery_beat"]
    assert beat["status"] == "ok", beat
    assert beat["holder"] == "host-a:1"
    assert beat["standbys"] == ["host-b:2"]

    def doctor():
        findings = run_doctor(only=["celery"], ctx=Context(production=True, ping=False))
        return {f.id: f for f in findings}["celery.beat"]

    finding = doctor()
    assert finding.status == OK, finding  # one holder + a standby is the intended setup
    assert "held by host-a:1" in finding.message and "host-b:2" in finding.message

    out = io.StringIO()
    call_command("celery_status", stdout=out)
    assert re.search(r"beat lock holder\s+host-a:1", out.getvalue()), out.getvalue()
    assert re.search(r"beat standbys\s+1\s+host-b:2", out.getvalue()), out.getvalue()

    # A second beat dispatching (no lease: another scheduler, another broker DB...) fails.
    with monitor_as("host-c:3"):
        beat_module.record_beat(dispatching=True)
    finding = doctor()
    assert finding.status == FAIL, finding
    assert "2 beat processes dispatch (host-a:1, host-c:3)" in finding.message


@contextlib.contextmanager
def monitor_as(name: str):
    """Record heartbeats as beat process ``name`` (host:pid) would."""
    host, pid = name.split(":")
    with (
        mock.patch.object(beat_module.socket, "gethostname", return_value=host),
        mock.patch.object(beat_module.os, "getpid", return_value=int(pid)),
        mock.patch.object(monitor.socket, "gethostname", return_value=host),
        mock.patch.object(monitor.os, "getpid", return_value=int(pid)),
    ):
        yield


def test_a_paused_holder_sends_nothing_after_losing_the_lease(broker, tmp_path):
    """SIGSTOP the holder past the lease TTL (a GC pause, a frozen VM): the standby takes over;
    SIGCONT: the old holder finds the lease gone, logs it, stands by and never sends again."""
    key = "beat-pause-runs"
    _schedule_every_second(broker.url_for(5), key)
    beats = [Beat(broker.url_for(0), tmp_path, name=name) for name in ("beat-p", "beat-q")]
    try:

        def holder():
            logs = [b.log.read_text() for b in beats]
            held = [b for b, log in zip(beats, logs, strict=True) if "beat lock acquired" in log]
            return held[0] if len(held) == 1 and _sends(held[0]) else None

        paused = wait_for(holder, timeout=60, what="a holder sending")
        other = next(b for b in beats if b is not paused)
        os.killpg(paused.process.pid, signal.SIGSTOP)
        stopped_at = time.time()
        sent_before_pause = len(_sends(paused))
        wait_for(
            lambda: "beat lock acquired" in other.log.read_text() and _sends(other),
            timeout=40,
            what="the standby to take over from the paused holder",
        )
        os.killpg(paused.process.pid, signal.SIGCONT)
        resumed_at = time.time()
        wait_for(
            lambda: "beat lock lost" in paused.log.read_text(),
            timeout=20,
            what="the resumed holder to notice it lost the lease",
        )
        time.sleep(5)
        paused.check_running()
        assert len(_sends(paused)) == sent_before_pause, "the paused holder sent after losing"
        assert _min_gap(_sends(paused) + _sends(other)) > 0.9
        assert beat_module.beat_lock_status().holder == monitor_name(other)
        print(f"paused {resumed_at - stopped_at:.1f} s; takeover while paused")
    finally:
        for b in beats:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(b.process.pid, signal.SIGCONT)
            b.stop()
            print(f"--- {b.name} log ---\n{b.log.read_text()[-3000:]}")

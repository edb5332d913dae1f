"""``manage.py doctor``'s celery.workers asks real workers over the broker (a ping)."""

import pytest

from core.doctor import OK, Context, run_doctor

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]


def test_a_running_worker_answers_the_doctors_ping(start_worker):
    start_worker("doctor-ping")
    findings = {
        f.id: f for f in run_doctor(only=["celery"], ctx=Context(production=True, ping_timeout=3.0))
    }
    assert findings["celery.workers"].status == OK, findings["celery.workers"]
    assert "answer a ping" in findings["celery.workers"].message
    assert "doctor-ping" in findings["celery.workers"].message


def test_two_beats_are_one_holder_and_a_standby(broker, tmp_path):
    """Two real beats on one broker: one holds the lease and dispatches, the other stands by;
    doctor is fine with that (two *dispatchers* fail it: test_beat_lock.py)."""
    from core.celery_app import monitor
    from core.celery_app.testing import Beat, wait_for

    beats = [Beat(broker.url_for(0), tmp_path, name=name) for name in ("beat-a", "beat-b")]
    try:
        wait_for(lambda: len(monitor.read_status().beats) == 2, timeout=60, what="two beats")
        wait_for(lambda: monitor.read_status().beat_age is not None, timeout=30, what="a holder")
        beat = {
            f.id: f for f in run_doctor(only=["celery"], ctx=Context(production=True, ping=False))
        }["celery.beat"]
        assert beat.status == OK, beat
        assert "beat lock held by" in beat.message
        assert "1 standing by" in beat.message, beat
    finally:
        for b in beats:
            b.stop()

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


def test_two_beats_are_a_failure(broker, tmp_path):
    from core.celery_app import monitor
    from core.celery_app.testing import Beat, wait_for

    first = Beat(broker.url_for(0), tmp_path, name="beat-a")
    try:
        wait_for(lambda: monitor.read_status().beats, timeout=60, what="the first beat's tick")
        finding = run_doctor(only=["celery"], ctx=Context(production=True, ping=False))
        beat = {f.id: f for f in finding}["celery.beat"]
        assert beat.status == OK and beat.message.startswith("one beat"), beat

        second = Beat(broker.url_for(0), tmp_path, name="beat-b")
        try:
            wait_for(lambda: len(monitor.read_status().beats) == 2, timeout=60, what="two beats")
            beat = {
                f.id: f
                for f in run_doctor(only=["celery"], ctx=Context(production=True, ping=False))
            }["celery.beat"]
            assert beat.status == "fail"
            assert "2 beat processes tick" in beat.message
        finally:
            second.stop()
    finally:
        first.stop()

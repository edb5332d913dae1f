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

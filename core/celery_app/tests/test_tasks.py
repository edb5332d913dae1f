"""The base task's conventions, in eager mode (integration tests cover the real worker)."""

import pytest
from django.core.management import call_command
from django.db import OperationalError
from django_celery_beat.models import PeriodicTask

from api.v1.base_models.organization.models import Organization, Role
from core.celery_app.base import ErpTask, erp_task
from core.celery_app.schedules import ensure_schedules, schedules
from core.redis.config import url_with_db
from core.tenancy.context import get_current_organization

pytestmark = pytest.mark.django_db

calls: list = []


class ScopedTask(ErpTask):
    organization_scoped = True
    required_permission = "exports.create"

    def on_refused(self, exc, args, kwargs):
        calls.append(("refused", type(exc).__name__))


@erp_task(base=ScopedTask, name="tests.scoped")
def scoped(*, organization_id: int, user_id: int | None = None):
    context = get_current_organization()
    calls.append(("ran", context.organization_id, context.role))


@erp_task(name="tests.flaky", max_retries=3)
def flaky(*, fail_times: int):
    calls.append("attempt")
    if len(calls) <= fail_times:
        raise OperationalError("server closed the connection unexpectedly")
    return len(calls)


@pytest.fixture(autouse=True)
def _reset_calls():
    calls.clear()


def test_scoped_task_runs_in_its_organization(org, member_client):
    _, user = member_client(org, "admin")
    scoped.delay(organization_id=org.pk, user_id=user.pk)
    assert calls == [("ran", org.pk, "admin")]


def test_scoped_task_refuses_a_revoked_permission(org, member_client):
    _, user = member_client(org, "admin")
    user.memberships.update(role=Role.objects.get(name="member"))
    scoped.delay(organization_id=org.pk, user_id=user.pk)
    assert calls == [("refused", "PermissionRevoked")]


def test_scoped_task_refuses_a_deleted_organization(org, member_client):
    _, user = member_client(org, "owner")
    org_id = org.pk
    Organization.objects.filter(pk=org_id).delete()
    scoped.delay(organization_id=org_id, user_id=user.pk)
    assert calls == [("refused", "OrganizationGone")]


def test_organization_existence_cache_is_bounded_by_its_ttl(org, settings, monkeypatch):
    from core.celery_app import base

    settings.CELERY_ORGANIZATION_CHECK_TTL = 5
    base._known_organizations.clear()
    clock = [1000.0]
    monkeypatch.setattr(base.time, "monotonic", lambda: clock[0])
    assert base.load_task_context(org.pk, None, None).organization_slug == org.slug
    Organization.objects.filter(pk=org.pk).delete()
    assert base.load_task_context(org.pk, None, None).organization_id == org.pk  # cached
    clock[0] += 6
    with pytest.raises(base.OrganizationGone):
        base.load_task_context(org.pk, None, None)
    base._known_organizations.clear()


@pytest.mark.parametrize(
    "kwargs", [{}, {"organization_id": "1"}, {"organization_id": True}], ids=["none", "str", "bool"]
)
def test_scoped_task_needs_an_integer_organization_id(kwargs):
    with pytest.raises(TypeError, match="organization_id"):
        scoped.delay(**kwargs)
    assert calls == []


def test_model_instances_are_refused_as_arguments(org):
    with pytest.raises(TypeError, match="pass ids"):
        scoped.delay(org, organization_id=org.pk)


def test_transient_errors_are_retried_then_succeed(replay_retries):
    result = flaky.apply(kwargs={"fail_times": 2}, throw=False)
    assert result.get() == 3
    assert calls == ["attempt"] * 3


def test_retries_are_bounded(replay_retries):
    result = flaky.apply(kwargs={"fail_times": 100}, throw=False)
    assert result.failed() and isinstance(result.result, OperationalError)
    assert len(calls) == 4  # the first try + max_retries=3


def test_retry_policy_is_erp_tasks_own():
    # Celery's autoretry would bound retries by count (5 x 2-32 s lost e-mails, issue 9).
    assert flaky.autoretry_for == () and OperationalError in flaky.retry_for
    assert flaky.acks_late and flaky.reject_on_worker_lost


def test_schedules_exist_after_migrate_and_setup_is_idempotent(capsys):
    names = {s.name for s in schedules()}
    assert set(PeriodicTask.objects.values_list("name", flat=True)) >= names
    task = PeriodicTask.objects.get(name="erp: nightly backup")
    assert task.task == "core.db.tasks.nightly_backup" and task.crontab.hour == "2"
    assert {state for _, state in ensure_schedules()} == {"up to date"}
    call_command("setup_schedules")
    assert "up to date" in capsys.readouterr().out
    assert PeriodicTask.objects.filter(name__in=names).count() == len(names)


def test_setup_schedules_creates_missing_keeps_admin_edits_and_reset_restores(capsys):
    from django_celery_beat.models import CrontabSchedule, IntervalSchedule

    relay = PeriodicTask.objects.get(name="erp: outbox relay")
    default_every = relay.interval.every
    # What an operator does in the admin: slower relay, disabled, longer expiry; nightly backup
    # moved to 04:15; one schedule deleted.
    relay.interval = IntervalSchedule.objects.create(every=600, period=IntervalSchedule.SECONDS)
    relay.enabled = False
    relay.expire_seconds = 999
    relay.save()
    backup = PeriodicTask.objects.get(name="erp: nightly backup")
    backup.crontab = CrontabSchedule.objects.create(minute="15", hour="4", timezone="UTC")
    backup.save()
    PeriodicTask.objects.filter(name="erp: nightly backup").update(description="ops: moved")
    deleted = next(n for n in (s.name for s in schedules()) if n not in (relay.name, backup.name))
    PeriodicTask.objects.filter(name=deleted).delete()

    call_command("migrate", verbosity=0)  # post_migrate runs ensure_schedules()
    assert PeriodicTask.objects.filter(name=deleted).exists()
    PeriodicTask.objects.filter(name=deleted).delete()
    call_command("setup_schedules")
    out = capsys.readouterr().out
    assert f"{deleted}: created" in out
    assert "erp: outbox relay: differs from the default (kept;" in out
    relay.refresh_from_db()
    backup.refresh_from_db()
    assert (relay.interval.every, relay.enabled, relay.expire_seconds) == (600, False, 999)
    assert (backup.crontab.hour, backup.crontab.minute, backup.description) == (
        "4",
        "15",
        "ops: moved",
    )
    assert PeriodicTask.objects.filter(name=deleted).exists()

    call_command("setup_schedules", "--reset")
    assert "erp: outbox relay: reset to the default" in capsys.readouterr().out
    relay.refresh_from_db()
    backup.refresh_from_db()
    assert relay.interval.every == default_every and relay.enabled
    assert relay.expire_seconds != 999
    assert (backup.crontab.hour, backup.crontab.minute) == ("2", "30")
    assert backup.description != "ops: moved"
    assert {state for _, state in ensure_schedules()} == {"up to date"}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("redis://127.0.0.1:6379/0", "redis://127.0.0.1:6379/3"),
        ("redis://:pw@redis:6379", "redis://:pw@redis:6379/3"),
        ("rediss://u:p@h:6380/7?ssl_cert_reqs=none", "rediss://u:p@h:6380/3?ssl_cert_reqs=none"),
    ],
)
def test_broker_url_is_derived_from_redis_url(url, expected):
    assert url_with_db(url, 3) == expected


def test_broker_url_needs_redis():
    with pytest.raises(ValueError, match="Redis URL"):
        url_with_db("amqp://guest@localhost//", 3)


def test_every_schedule_names_a_registered_task():
    from core.celery_app import app

    app.loader.import_default_modules()
    missing = [s.task for s in schedules() if s.task not in app.tasks]
    assert not missing, f"schedules naming unknown tasks: {missing}"


@pytest.mark.parametrize(("value", "expected"), [(None, False), ("true", True), ("false", False)])
def test_task_events_are_configurable(value, expected):
    import os
    import subprocess
    import sys

    from django.conf import settings as django_settings

    env = {k: v for k, v in os.environ.items() if k != "CELERY_WORKER_SEND_TASK_EVENTS"}
    if value is not None:
        env["CELERY_WORKER_SEND_TASK_EVENTS"] = value
    code = (
        "from core.celery_app import app; "
        "print(app.conf.worker_send_task_events, app.conf.task_send_sent_event)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=django_settings.BASE_DIR,
        env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.dev"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == [str(expected), str(expected)]

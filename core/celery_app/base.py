"""The base class every ERP task uses, and the conventions it enforces.

- Arguments are ids and JSON scalars, never model instances (checked when the task is queued).
- Organization-scoped tasks (``organization_scoped = True``) take ``organization_id`` as a
  keyword argument. Inside the worker the organization is looked up again (it may have been
  deleted since), and when the task declares ``required_permission`` the acting ``user_id``'s
  role is re-checked too: a permission revoked between the request and the run is honoured. A
  refused task logs, calls ``on_refused`` and ends without retrying.
- Transient errors (an external service such as SMTP, the database or the broker briefly
  unreachable) are retried for at least ``CELERY_TASK_RETRY_WINDOW`` (24 h) with capped,
  jittered backoff; the wait is parked in the outbox table, not in the broker (``retry.py``).
  Each retry logs ``task.retry ... next_attempt_at=<ISO time>``.
- A task that gives up (non-transient error, retry window exhausted) is recorded as a dead
  letter (``core.outbox.models.DeadLetter``; ``manage.py retry_dead_tasks`` re-sends it).
  Periodic tasks are neither parked nor dead-lettered: beat's next tick is their retry.
- Acks late + reject on worker lost: a task whose worker dies is redelivered, so every task's
  effect must be idempotent (see ``core.outbox.effects.once``).
- A task published by the outbox (header ``OUTBOX_HEADER``) records in its outbox row that it
  finished (succeeded, refused or dead-lettered: ``RetryStore.finished``); the outbox sends a
  row again whose task never did within ``OUTBOX_REDELIVER_AFTER`` (lost by the broker or with a
  killed worker), so the outbox, not the broker, is what guarantees the task runs.
- Structured log lines (logfmt) with task name, task id, organization and attempt.

Use it with ``@erp_task(...)`` (``shared_task`` with this base).
"""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta
from typing import Any

from celery import shared_task
from celery.contrib.django.task import DjangoTask
from celery.exceptions import Ignore, Reject, Retry
from django.conf import settings
from django.db import models as db_models
from django.utils import timezone

from core.registry import registry
from core.requestid import CELERY_HEADER
from core.tenancy.context import OrganizationContext, organization_scope
from core.tenancy.swappable import get_membership_model, get_organization_model

from .retry import DATABASE_ERRORS, TRANSIENT_ERRORS, RetryPolicy, get_retry_store, is_transient

__all__ = [
    "OUTBOX_HEADER",
    "TRANSIENT_ERRORS",
    "ErpTask",
    "TaskRefused",
    "erp_task",
    "is_transient",
    "request_header",
]

logger = logging.getLogger("core.celery_app")

# Set on every message the outbox publishes (core.outbox.services._publish): the task records in
# its outbox row (the row's primary key is the task id) that it finished.
OUTBOX_HEADER = "erp_outbox"


def request_header(request, name: str):
    """A custom message header: a request attribute in the worker, in ``headers`` when eager."""
    value = getattr(request, name, None)
    if value is None:
        value = (getattr(request, "headers", None) or {}).get(name)
    return value


class TaskRefused(Exception):
    """The task must not run (organization gone, permission revoked). Never retried."""


class OrganizationGone(TaskRefused):
    pass


class PermissionRevoked(TaskRefused):
    pass


def check_task_arguments(task, args, kwargs) -> None:
    """Refuse model instances and, for scoped tasks, a missing ``organization_id``."""
    for value in [*(args or ()), *(kwargs or {}).values()]:
        if isinstance(value, db_models.Model | db_models.QuerySet):
            raise TypeError(
                f"{task.name}: pass ids, not {type(value).__name__} objects, to a task "
                "(the row may change before the worker runs)."
            )
    if getattr(task, "organization_scoped", False):
        organization_id = (kwargs or {}).get("organization_id")
        if not isinstance(organization_id, int) or isinstance(organization_id, bool):
            raise TypeError(f"{task.name}: organization_id=<int> keyword argument is required.")


class _OrganizationCache:
    """Organizations seen to exist in the last ``CELERY_ORGANIZATION_CHECK_TTL`` seconds.

    Per worker process, positive answers only. A trivial task spent half its time on the
    existence query (measured: 0.5x a bare task's throughput, 0.93x with this cache). An
    organization deleted within the TTL is still "seen": its rows are gone with it (cascade),
    so the task's organization-filtered queries find nothing to act on. Permission re-checks
    (``required_permission``) are never cached.
    """

    def __init__(self):
        self._seen: dict[int, tuple[str, float]] = {}

    def get(self, organization_id: int, now: float) -> str | None:
        entry = self._seen.get(organization_id)
        return entry[0] if entry and entry[1] > now else None

    def put(self, organization_id: int, slug: str, now: float) -> None:
        ttl = settings.CELERY_ORGANIZATION_CHECK_TTL
        if ttl > 0:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[organization_id] = (slug, now + ttl)

    def clear(self) -> None:
        self._seen.clear()


_known_organizations = _OrganizationCache()


def load_task_context(
    organization_id: int, user_id: int | None, permission: str | None
) -> OrganizationContext:
    """The organization (and acting user's role) as they are *now*, in one query."""
    Organization, Membership = get_organization_model(), get_membership_model()

    if permission is None:
        slug = _known_organizations.get(organization_id, now := time.monotonic())
        if slug is None:
            slug = (
                Organization.objects.filter(pk=organization_id)
                .values_list("slug", flat=True)
                .first()
            )
            if slug is None:
                raise OrganizationGone(f"organization {organization_id} no longer exists")
            _known_organizations.put(organization_id, slug, now)
        return OrganizationContext(organization_id, slug, "", frozenset())
    row = (
        Membership.objects.filter(organization_id=organization_id, user_id=user_id)
        .values_list("organization__slug", "role__name", "role__permissions")
        .first()
    )
    if row is None:
        if not Organization.objects.filter(pk=organization_id).exists():
            raise OrganizationGone(f"organization {organization_id} no longer exists")
        raise PermissionRevoked(
            f"user {user_id} is no longer a member of organization {organization_id}"
        )
    slug, role, permissions = row
    if permission not in permissions:
        raise PermissionRevoked(f"user {user_id} (role {role}) no longer has '{permission}'")
    return OrganizationContext(organization_id, slug, role, frozenset(permissions))


def periodic_task_names() -> frozenset[str]:
    return frozenset(schedule.task for schedule in registry["schedules"].values())


class ErpTask(DjangoTask):
    """Base task: see the module docstring for the conventions."""

    # Retries are ErpTask's own (``_handle_failure``), not Celery's ``autoretry_for``.
    autoretry_for = ()
    retry_for = TRANSIENT_ERRORS  # informative; ``is_transient`` decides (SMTP codes, errnos)
    max_retries: int | None = None  # None: retry for CELERY_TASK_RETRY_WINDOW; an int bounds it
    retry_window: float | None = None  # seconds; None: CELERY_TASK_RETRY_WINDOW
    dead_letter = True  # record a final failure in the dead-letter table
    acks_late = True
    reject_on_worker_lost = True
    organization_scoped = False
    required_permission: str | None = None

    def apply_async(self, args=None, kwargs=None, **options):
        check_task_arguments(self, args, kwargs)
        return super().apply_async(args, kwargs, **options)

    def on_refused(self, exc: TaskRefused, args: tuple, kwargs: dict) -> None:
        """Hook: record that the task was refused (e.g. mark a job failed). Default: nothing."""

    def on_retry_scheduled(self, exc: BaseException, args, kwargs, next_attempt_at) -> None:
        """Hook: a transient failure will be retried at ``next_attempt_at`` (e.g. show a job as
        waiting rather than running). Default: nothing. Errors are logged, never raised."""

    def _retry_scheduled(self, exc, args, kwargs, next_attempt_at, fields: str) -> None:
        try:
            self.on_retry_scheduled(exc, args, kwargs, next_attempt_at)
        except Exception as hook_exc:  # noqa: BLE001 - the retry itself is already scheduled
            logger.warning("task.retry_hook_failed %s error=%r", fields, hook_exc)

    def is_transient(self, exc: BaseException) -> bool:
        """Hook: is ``exc`` worth another try later? Default: ``retry.is_transient``."""
        return is_transient(exc)

    def log_fields(self, kwargs: dict) -> str:
        request = self.request
        return (
            f"task={self.name} id={request.id} org={kwargs.get('organization_id', '-')} "
            f"attempt={(request.retries or 0) + 1}"
        )

    def __call__(self, *args: Any, **kwargs: Any):
        fields = self.log_fields(kwargs)
        logger.info("task.start %s", fields)
        try:
            if not self.organization_scoped:
                result = self._run(*args, **kwargs)
                self._record_finished(fields)
                return result
            try:
                context = load_task_context(
                    kwargs["organization_id"], kwargs.get("user_id"), self.required_permission
                )
            except TaskRefused as exc:
                logger.warning("task.refused %s reason=%r", fields, str(exc))
                self.on_refused(exc, args, kwargs)
                self._record_finished(fields)
                return None
            with organization_scope(context):
                result = self._run(*args, **kwargs)
            self._record_finished(fields)
            return result
        except (Retry, Ignore, Reject):
            raise
        except Exception as exc:
            if self.request.called_directly or self.name in periodic_task_names():
                raise
            self._handle_failure(exc, args, kwargs, fields)
            raise

    def _handle_failure(self, exc: Exception, args, kwargs, fields: str) -> None:
        """Retry a transient failure later (raises ``Retry``) or dead-letter it (returns)."""
        request = self.request
        policy = RetryPolicy.for_task(self)
        store = get_retry_store()
        now = timezone.now()
        transient = self.is_transient(exc)
        error = f"{type(exc).__name__}: {exc}"[:300]
        attempts, first_failed_at = (request.retries or 0) + 1, now
        if transient and store is not None and not isinstance(exc, DATABASE_ERRORS):
            try:
                parked = store.park(self, request, args, kwargs, exc, policy, now)
            except Exception as store_exc:  # noqa: BLE001 - database down: broker fallback
                logger.warning("task.park_failed %s error=%r", fields, store_exc)
            else:
                attempts, first_failed_at = parked.attempts, parked.first_failed_at
                if parked.next_attempt_at is not None:
                    delay = (parked.next_attempt_at - now).total_seconds()
                    logger.warning(
                        "task.retry %s error=%r next_attempt_at=%s in=%.1fs failing_since=%s "
                        "(parked in the outbox)",
                        fields,
                        error,
                        parked.next_attempt_at.isoformat(timespec="seconds"),
                        delay,
                        first_failed_at.isoformat(timespec="seconds"),
                    )
                    self._retry_scheduled(exc, args, kwargs, parked.next_attempt_at, fields)
                    raise Retry(exc=exc, when=delay)
                transient = False  # window exhausted: falls through to the dead letter
        if transient:
            # The retry could not be parked (database down, no store): a broker countdown of
            # at most CELERY_TASK_RETRY_BACKOFF_MAX, far below the visibility timeout.
            if (request.retries or 0) < policy.retry_limit():
                countdown = policy.delay(request.retries or 0)
                logger.warning(
                    "task.retry %s error=%r next_attempt_at=%s in=%.1fs (broker countdown)",
                    fields,
                    error,
                    (now + timedelta(seconds=countdown)).isoformat(timespec="seconds"),
                    countdown,
                )
                # Keep the custom headers (Celery's retry drops them): the outbox mark, the id
                # of the request that queued the task.
                headers = {
                    name: value
                    for name in (OUTBOX_HEADER, CELERY_HEADER)
                    if (value := request_header(request, name)) is not None
                }
                next_attempt_at = now + timedelta(seconds=countdown)
                self._retry_scheduled(exc, args, kwargs, next_attempt_at, fields)
                raise self.retry(exc=exc, countdown=countdown, headers=headers or None)
        logger.error(
            "task.gave_up %s attempts=%s failing_since=%s error=%r transient=%s",
            fields,
            attempts,
            first_failed_at.isoformat(timespec="seconds"),
            error,
            self.is_transient(exc),
        )
        if self.dead_letter and store is not None:
            try:
                store.dead_letter(
                    self, request, args, kwargs, exc,
                    transient=self.is_transient(exc), attempts=attempts,
                    first_failed_at=first_failed_at, now=now,
                )  # fmt: skip
            except Exception:  # noqa: BLE001 - the outbox row stays unfinished
                logger.exception(
                    "task.dead_letter_failed %s: not recorded; an outbox task is sent again after "
                    "OUTBOX_REDELIVER_AFTER (its row is not marked finished)",
                    fields,
                )
            else:  # the dead letter owns it now (a parked row, whatever published it)
                self._record_finished(fields, always=True)

    def _record_finished(self, fields: str, *, always: bool = False) -> None:
        """Tell the outbox this task is done with (it is not sent again). Never raises: a lost
        mark only means one more (idempotent) run after ``OUTBOX_REDELIVER_AFTER``. Only for
        messages the outbox published (its header), unless ``always``: a task without a row
        costs no query."""
        request = self.request
        if request.called_directly:
            return
        if not always and not request_header(request, OUTBOX_HEADER):
            return
        store = get_retry_store()
        if store is None:
            return
        try:
            store.finished(self, request)
        except Exception as exc:  # noqa: BLE001 - see the docstring
            logger.warning("task.finish_mark_failed %s error=%r", fields, exc)

    def _run(self, *args: Any, **kwargs: Any):
        # The worker (and eager ``apply``) has already pushed this delivery's request; Celery's
        # ``Task.__call__`` would push a second, empty one (losing id and retries).
        if self.request.called_directly:
            return super().__call__(*args, **kwargs)
        return self.run(*args, **kwargs)


erp_task = functools.partial(shared_task, base=ErpTask)

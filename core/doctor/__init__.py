"""``manage.py doctor``: is this deployment set up the way docs/ says it must be?

Checks are declared in the platform registry (``core.registry.register_doctor_check``): each
yields ``Finding``s of one section. The core registers postgres, redis, celery, backups and
security (``core.doctor.checks``); the files app registers storage. docs/operations.md lists
every finding id with its fix.

Severity: a rule the docs make for production is ``fail`` when ``DOCTOR_PRODUCTION`` is on
(default: ``DEBUG`` off) and ``warn`` otherwise (``Context.rule``), so a development machine
(one shared Redis, no backups yet) shows what production would refuse without failing.

Checks run concurrently, each in a thread with a deadline (``DOCTOR_CHECK_TIMEOUT``; ``/ops/``
uses ``HEALTH_CHECK_TIMEOUT``): a hung backend becomes a ``fail`` finding, never a hang.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connections

from core.registry import DOCTOR_SECTIONS as SECTIONS

OK, WARN, FAIL = "ok", "warn", "fail"
STATUSES = (OK, WARN, FAIL)

_executor = ThreadPoolExecutor(max_workers=8, thread_name_prefix="doctor")


@dataclass(frozen=True)
class Finding:
    id: str  # "<section>.<rule>", e.g. "redis.broker_aof"
    status: str  # ok | warn | fail
    message: str  # one line
    hint: str = ""  # the fix, naming the doc section

    @property
    def section(self) -> str:
        return self.id.split(".", 1)[0]

    def as_dict(self) -> dict:
        data = asdict(self)
        return {"id": self.id, "section": self.section, **data}


@dataclass(frozen=True)
class Context:
    production: bool
    ping: bool = True  # ask workers over the broker (the command); /ops/ reads heartbeats
    ping_timeout: float = 1.0

    def rule(self, ok: bool) -> str:
        """``ok`` when the rule holds; else ``fail`` in production, ``warn`` elsewhere."""
        if ok:
            return OK
        return FAIL if self.production else WARN


def default_context(**overrides) -> Context:
    production = getattr(settings, "DOCTOR_PRODUCTION", None)
    if production is None:
        production = not settings.DEBUG
    return Context(production=bool(production), **overrides)


def run_doctor(
    *,
    only: Iterable[str] | None = None,
    ctx: Context | None = None,
    timeout: float | None = None,
) -> list[Finding]:
    """Every registered check (of the ``only`` sections), in SECTIONS order."""
    from core.registry import registry

    ctx = ctx or default_context()
    timeout = settings.DOCTOR_CHECK_TIMEOUT if timeout is None else timeout
    wanted = set(only or SECTIONS)
    checks = [c for c in registry["doctor_checks"].values() if c.section in wanted]
    started = time.monotonic()
    futures = [(check, _executor.submit(_run_one, check, ctx)) for check in checks]
    findings: list[Finding] = []
    for check, future in futures:
        remaining = max(0.0, timeout - (time.monotonic() - started))
        try:
            findings.extend(future.result(timeout=remaining))
        except FutureTimeout:
            findings.append(
                Finding(
                    f"{check.section}.{check.name}_check",
                    FAIL,
                    f"no answer within {timeout:g}s (a backend hangs?)",
                    "docs/operations.md#doctor",
                )
            )
        except Exception as exc:  # noqa: BLE001 - a crashing check is a finding
            findings.append(
                Finding(
                    f"{check.section}.{check.name}_check",
                    FAIL,
                    f"check failed: {type(exc).__name__}: {exc}".splitlines()[0][:300],
                    "docs/operations.md#doctor",
                )
            )
    order = {name: i for i, name in enumerate(SECTIONS)}
    return sorted(findings, key=lambda f: order.get(f.section, len(order)))


def _run_one(check, ctx: Context) -> list[Finding]:
    try:
        findings = list(check.func(ctx))
    finally:
        tidy_connections()
    for finding in findings:
        if finding.section != check.section or finding.status not in STATUSES:
            raise ValueError(f"{check.name} produced {finding!r} (section {check.section})")
    return findings


def tidy_connections() -> None:
    """Checks run in long-lived pool threads: like the readiness probes, keep their DB
    connections for the next run unless broken, or close them all with
    HEALTH_CHECK_KEEP_CONNECTIONS off (tests: the test database must be droppable)."""
    for connection in connections.all(initialized_only=True):
        if settings.HEALTH_CHECK_KEEP_CONNECTIONS:
            connection.close_if_unusable_or_obsolete()
        else:
            connection.close()


def exit_code(findings: Iterable[Finding]) -> int:
    """0 all ok, 1 warnings only, 2 anything failed."""
    statuses = {f.status for f in findings}
    return 2 if FAIL in statuses else 1 if WARN in statuses else 0


def worst(statuses: Iterable[str]) -> str:
    statuses = set(statuses)
    return FAIL if FAIL in statuses else WARN if WARN in statuses else OK

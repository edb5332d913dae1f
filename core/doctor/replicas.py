"""Doctor findings for the read replicas (``DATABASE_REPLICA_URLS``, core.db.replicas): one per
replica, from the same status the router and ``/health/ready/`` use."""

from __future__ import annotations

from django.conf import settings

from core.db import replicas
from core.registry import register_doctor_check

from . import FAIL, OK, WARN, Finding


def replica_checks(ctx):
    hint = "docs/database.md#read-replicas"
    for status in replicas.statuses(fresh=True):
        fid = f"postgres.read_replica.{status.alias}"
        if status.state == "down":
            yield Finding(
                fid,
                WARN,
                f"unreachable ({status.error}); its reads go to the primary",
                f"Check the replica server and DATABASE_REPLICA_URLS: {hint}",
            )
        elif status.state == "not_replica":
            yield Finding(
                fid,
                FAIL,
                "is not in recovery: DATABASE_REPLICA_URLS names a primary",
                f"Point DATABASE_REPLICA_URLS at streaming standbys only: {hint}",
            )
        elif status.state == "lagging":
            lag = "unknown" if status.lag_seconds is None else f"{status.lag_seconds:.1f}s"
            yield Finding(
                fid,
                WARN,
                f"lag {lag} above DATABASE_REPLICA_MAX_LAG ({settings.DATABASE_REPLICA_MAX_LAG}s)"
                "; its reads go to the primary",
                f"Check the replica's I/O, network and long queries on it: {hint}",
            )
        else:
            yield Finding(fid, OK, f"lag {status.lag_seconds:.1f}s, reads routed to it")


def register() -> None:
    if replicas.replica_aliases():
        register_doctor_check("read_replicas", replica_checks, section="postgres")

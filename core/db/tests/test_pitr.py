"""scripts/pitr.sh on a throwaway cluster (initdb/pg_ctl on a free port in a temp dir):
base backup, two inserts, recovery to a timestamp between them."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from django.conf import settings

from core.testing.ports import free_port

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("pitr")]

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SCRIPT = Path(settings.BASE_DIR) / "scripts" / "pitr.sh"


def _as_cluster_owner(args: list[str], **kwargs):
    """initdb/pg_ctl refuse to run as root: run as the postgres OS user then."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    env = {**os.environ, "PG_BIN": str(PG_BIN), "PGHOST": "127.0.0.1", "PGUSER": "postgres"}
    env.update(kwargs.pop("env", {}))
    return subprocess.run(
        prefix + args, check=True, capture_output=True, text=True, env=env, **kwargs
    )


@pytest.fixture
def workdir():
    if not (PG_BIN / "initdb").exists():
        pytest.skip("PostgreSQL server binaries are not installed")
    path = Path(tempfile.mkdtemp(prefix="erp-pitr-"))
    if os.geteuid() == 0:
        shutil.chown(path, "postgres", "postgres")
    clusters: list[Path] = []
    yield path, clusters
    for pgdata in clusters:
        if (pgdata / "postmaster.pid").exists():
            _as_cluster_owner(
                [str(PG_BIN / "pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop"]
            )
    shutil.rmtree(path, ignore_errors=True)


def _connect(port: int) -> psycopg.Connection:
    return psycopg.connect(
        host="127.0.0.1", port=port, user="postgres", dbname="postgres", autocommit=True
    )


def test_pitr_recovers_to_a_timestamp_between_two_inserts(workdir):
    root, clusters = workdir
    primary, archive, base, restored = (root / n for n in ("primary", "wal", "base", "restored"))
    _as_cluster_owner(["mkdir", str(archive)])
    _as_cluster_owner([str(PG_BIN / "initdb"), "-D", str(primary), "-U", "postgres", "-A", "trust"])
    clusters.append(primary)
    config = _as_cluster_owner(["bash", str(SCRIPT), "archive-config", str(archive)]).stdout
    port = free_port()
    with (primary / "postgresql.conf").open("a") as conf:
        conf.write(
            config + f"port = {port}\nlisten_addresses = '127.0.0.1'\n"
            "unix_socket_directories = ''\n"
        )
    _as_cluster_owner(
        [str(PG_BIN / "pg_ctl"), "-D", str(primary), "-l", str(primary / "log"), "-w", "start"]
    )

    with _connect(port) as conn:
        conn.execute("CREATE TABLE events (name text, at timestamptz DEFAULT clock_timestamp())")
    _as_cluster_owner(["bash", str(SCRIPT), "base-backup", str(base)], env={"PGPORT": str(port)})
    with _connect(port) as conn:
        conn.execute("INSERT INTO events (name) VALUES ('first')")
        time.sleep(0.05)  # commit timestamps must differ from the target
        target = conn.execute("SELECT clock_timestamp()::text").fetchone()[0]
        time.sleep(0.05)
        conn.execute("INSERT INTO events (name) VALUES ('second')")
        # Close the segment holding both inserts and wait (bounded) until it is archived.
        switched = conn.execute("SELECT pg_walfile_name(pg_switch_wal())").fetchone()[0]
        for _ in range(100):
            archived = conn.execute("SELECT last_archived_wal FROM pg_stat_archiver").fetchone()[0]
            if archived and archived >= switched:
                break
            time.sleep(0.1)
    _as_cluster_owner([str(PG_BIN / "pg_ctl"), "-D", str(primary), "-m", "fast", "stop"])

    new_port = free_port()
    clusters.append(restored)
    result = _as_cluster_owner(
        [
            "bash",
            str(SCRIPT),
            "restore",
            str(base),
            str(archive),
            str(restored),
            target,
            str(new_port),
        ]
    )
    assert "recovered to" in result.stdout
    with _connect(new_port) as conn:
        names = [r[0] for r in conn.execute("SELECT name FROM events ORDER BY at")]
    assert names == ["first"]


def test_restore_refuses_a_non_backup_directory(workdir):
    root, _ = workdir
    result = subprocess.run(
        ["bash", str(SCRIPT), "restore", str(root), str(root), str(root / "x"), "2026-01-01"],
        capture_output=True,
        text=True,
    )
    assert result.returncode != 0 and "is not a base backup" in result.stderr

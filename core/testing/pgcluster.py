"""Throwaway PostgreSQL clusters for fault tests and benchmarks: a primary, streaming standbys
(``pg_basebackup -R``), stop/start/promote. Never the shared server on 5432.

Every cluster lives in its own temporary directory, listens on a free loopback port only (no
Unix socket), trusts local connections and is stopped (``-m immediate``) and removed by
``stop_all``/the context manager. initdb and pg_ctl refuse to run as root, so as root they run
as the ``postgres`` OS user (``runuser``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg

from core.testing.ports import free_port


def pg_bindir() -> Path | None:
    """The server binaries' directory (``pg_config --bindir``), or None when not installed."""
    candidates = []
    if env_dir := os.environ.get("PG_BIN"):
        candidates.append(Path(env_dir))
    with contextlib.suppress(OSError, subprocess.CalledProcessError):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
        candidates.append(Path(out.stdout.strip()))
    candidates += sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_basebackup").exists():
            return directory
    return None


class ClusterError(RuntimeError):
    pass


def _run_as_owner(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    result = subprocess.run(prefix + args, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        raise ClusterError(
            f"{Path(args[0]).name} failed (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}"
        )
    return result


class Cluster:
    """One PostgreSQL instance on 127.0.0.1:``port`` with data directory ``pgdata``."""

    def __init__(self, bindir: Path, pgdata: Path, port: int, name: str):
        self.bindir, self.pgdata, self.port, self.name = bindir, pgdata, port, name

    @property
    def log(self) -> Path:
        return self.pgdata.parent / f"{self.name}.log"

    def url(self, dbname: str = "postgres", user: str = "postgres") -> str:
        return f"postgres://{user}@127.0.0.1:{self.port}/{dbname}"

    def connect(self, dbname: str = "postgres", **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(self.url(dbname), connect_timeout=3, **kwargs)

    def ctl(self, *args: str, timeout: float = 60) -> None:
        _run_as_owner([str(self.bindir / "pg_ctl"), "-D", str(self.pgdata), *args], timeout=timeout)

    def start(self) -> None:
        self.ctl("-l", str(self.log), "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        self.ctl("-m", mode, "-w", "stop")

    def promote(self) -> None:
        self.ctl("-w", "-t", "60", "promote")

    @property
    def running(self) -> bool:
        return (self.pgdata / "postmaster.pid").exists()

    def in_recovery(self) -> bool:
        with self.connect() as conn:
            return conn.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    def append_config(self, text: str) -> None:
        with (self.pgdata / "postgresql.conf").open("a") as conf:
            conf.write(text.rstrip() + "\n")

    def reload(self) -> None:
        self.ctl("reload")


class ClusterSet:
    """Creates clusters under one temporary directory; ``close()`` stops and removes them all."""

    def __init__(self, bindir: Path | None = None):
        self.bindir = bindir or pg_bindir()
        if self.bindir is None:
            raise ClusterError(
                "PostgreSQL server binaries (initdb, pg_ctl, pg_basebackup) are not installed: "
                "apt-get install postgresql, or set PG_BIN to their directory."
            )
        self.root = Path(tempfile.mkdtemp(prefix="erp-pgcluster-"))
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres", "postgres")
        self.clusters: list[Cluster] = []

    def _base_config(self, port: int) -> str:
        return (
            f"port = {port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = ''\n"
            "fsync = off\nfull_page_writes = off\nshared_buffers = 32MB\nmax_connections = 60\n"
            "wal_level = replica\nmax_wal_senders = 5\nwal_keep_size = '64MB'\n"
            "hot_standby = on\nwal_receiver_status_interval = '1s'\n"
            "wal_retrieve_retry_interval = '200ms'\n"
        )

    def primary(self, name: str = "primary", extra_config: str = "") -> Cluster:
        """initdb + start a primary that accepts replication connections from 127.0.0.1."""
        pgdata = self.root / name
        _run_as_owner(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(pgdata),
                "-U",
                "postgres",
                "-A",
                "trust",
                "--no-sync",
                "--encoding=UTF8",
            ],
            timeout=120,
        )
        cluster = Cluster(self.bindir, pgdata, free_port(), name)
        cluster.append_config(self._base_config(cluster.port) + extra_config)
        with (pgdata / "pg_hba.conf").open("a") as hba:
            hba.write("host replication all 127.0.0.1/32 trust\n")
        self.clusters.append(cluster)
        cluster.start()
        return cluster

    def standby(
        self, of: Cluster, name: str = "standby", extra_config: str = "", port: int | None = None
    ) -> Cluster:
        """``pg_basebackup -R`` from ``of`` (streaming, on ``port`` or a free one) and start it."""
        pgdata = self.root / name
        _run_as_owner(
            [
                str(self.bindir / "pg_basebackup"),
                "-h",
                "127.0.0.1",
                "-p",
                str(of.port),
                "-U",
                "postgres",
                "-D",
                str(pgdata),
                "-R",
                "-X",
                "stream",
                "--checkpoint=fast",
                "--no-sync",
            ],
            timeout=300,
        )
        cluster = Cluster(self.bindir, pgdata, port or free_port(), name)
        cluster.append_config(f"port = {cluster.port}\n" + extra_config)
        # -R wrote primary_conninfo into postgresql.auto.conf (which wins over postgresql.conf):
        # override it there, with an application_name synchronous_standby_names can name.
        with (pgdata / "postgresql.auto.conf").open("a") as auto:
            auto.write(
                f"primary_conninfo = 'host=127.0.0.1 port={of.port} user=postgres "
                f"application_name={name}'\n"
            )
        self.clusters.append(cluster)
        cluster.start()
        return cluster

    def close(self) -> None:
        for cluster in self.clusters:
            if cluster.running:
                with contextlib.suppress(ClusterError, subprocess.TimeoutExpired):
                    cluster.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> ClusterSet:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def wait_until(predicate, timeout: float, what: str, interval: float = 0.1):
    """Poll ``predicate`` until it returns a truthy value; ClusterError naming ``what`` after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    last: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if value := predicate():
                return value
        except (psycopg.Error, OSError) as exc:
            last = exc
        time.sleep(interval)
    raise ClusterError(f"timed out after {timeout:g}s waiting for {what} (last error: {last})")

"""A throwaway Redis Sentinel group: a master, a replica and three sentinels on free ports.

Real ``redis-server`` processes (``--replicaof`` for the replica, ``--sentinel`` for the
sentinels) with small ``down-after-milliseconds`` / ``failover-timeout``, so that a SIGKILLed
master is replaced within a few seconds. Used by the Sentinel integration test and ``make chaos``.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import redis

from core.testing.ports import free_port
from core.testing.redis import RedisServer

MASTER_NAME = "erpmaster"


class Sentinel:
    def __init__(self, directory: Path, master_port: int, *, down_after_ms: int, failover_ms: int):
        self.directory = directory
        self.port = free_port()
        self.conf = directory / f"sentinel-{self.port}.conf"
        self.log = directory / f"sentinel-{self.port}.log"
        self.conf.write_text(
            f"port {self.port}\n"
            "bind 127.0.0.1\n"
            f"dir {directory}\n"
            f"logfile {self.log}\n"
            f"sentinel monitor {MASTER_NAME} 127.0.0.1 {master_port} 2\n"
            f"sentinel down-after-milliseconds {MASTER_NAME} {down_after_ms}\n"
            f"sentinel failover-timeout {MASTER_NAME} {failover_ms}\n"
            f"sentinel parallel-syncs {MASTER_NAME} 1\n"
        )
        self.process: subprocess.Popen | None = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=1, decode_responses=True)

    def start(self) -> Sentinel:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [binary, str(self.conf), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


class SentinelGroup:
    """``start()`` returns once the replica is in sync and every sentinel sees a quorum."""

    def __init__(self, directory: Path, *, down_after_ms: int = 1000, failover_ms: int = 3000):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        # Each node its own dir (dump files, replication state).
        (directory / "a").mkdir(exist_ok=True)
        (directory / "b").mkdir(exist_ok=True)
        # No 5 s wait before a full resync (the default), so a replica is in sync at once.
        fast_sync = ("--repl-diskless-sync-delay", "0")
        self.nodes = [
            RedisServer(directory / "a", extra_args=fast_sync),
            RedisServer(directory / "b", extra_args=fast_sync),
        ]
        self.nodes[1].extra_args += ["--replicaof", "127.0.0.1", str(self.nodes[0].port)]
        self.sentinels = [
            Sentinel(
                directory,
                self.nodes[0].port,
                down_after_ms=down_after_ms,
                failover_ms=failover_ms,
            )
            for _ in range(3)
        ]

    @property
    def addresses(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", s.port) for s in self.sentinels]

    @property
    def env_value(self) -> str:
        """``REDIS_SENTINELS``."""
        return ",".join(f"{h}:{p}" for h, p in self.addresses)

    def url_for(self, db: int) -> str:
        """kombu / Celery ``sentinel://`` URL on ``db``."""
        return ";".join(f"sentinel://{h}:{p}/{db}" for h, p in self.addresses)

    def start(self, timeout: float = 30.0) -> SentinelGroup:
        for node in self.nodes:
            node.start()
        self._wait(lambda: self.nodes[0].client().info("replication")["connected_slaves"] >= 1
                   and self.nodes[1].client().info("replication").get("master_link_status") == "up",
                   timeout, "the replica to sync")  # fmt: skip
        for sentinel in self.sentinels:
            sentinel.start()
        self._wait(self._quorum_seen, timeout, "the sentinels to see each other and the replica")
        return self

    def _quorum_seen(self) -> bool:
        for sentinel in self.sentinels:
            client = sentinel.client()
            if not ckquorum(client).startswith("OK 3 "):
                return False
            if not client.execute_command("SENTINEL REPLICAS", MASTER_NAME):
                return False
        return True

    @staticmethod
    def _wait(predicate, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                if predicate():
                    return
            except redis.RedisError as exc:
                last = exc
            time.sleep(0.05)
        raise RuntimeError(f"Sentinel group: timed out waiting for {what} (last error: {last})")

    def master_port(self) -> int:
        host, port = (
            self.sentinels[0]
            .client()
            .execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", MASTER_NAME)
        )
        return int(port)

    def master(self) -> RedisServer:
        port = self.master_port()
        return next(node for node in self.nodes if node.port == port)

    def kill_master(self) -> RedisServer:
        """SIGKILL the current master; returns it (``.start()`` brings it back as a replica)."""
        master = self.master()
        master.stop()
        return master

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> int:
        """Until every sentinel names a master other than ``old_port``; returns its port."""

        def moved():
            ports = {
                int(s.client().execute_command("SENTINEL GET-MASTER-ADDR-BY-NAME", MASTER_NAME)[1])
                for s in self.sentinels
            }
            return len(ports) == 1 and old_port not in ports

        self._wait(moved, timeout, "the sentinels to promote the replica")
        return self.master_port()

    def stop(self) -> None:
        for process in [*self.sentinels, *self.nodes]:
            process.stop()


def ckquorum(client: redis.Redis) -> str:
    """``SENTINEL CKQUORUM``'s text (redis-py's callback would turn "OK 3 usable..." into False)."""
    from core.redis.sentinel import ckquorum as text

    return text(client, MASTER_NAME)

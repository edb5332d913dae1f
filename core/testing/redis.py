"""A throwaway ``redis-server`` for integration tests: free port, temp dir, killed at the end.

``redis_server`` starts one per test (cheap: ~10 ms); ``redis_caches`` points every cache alias
at it (each alias on its own database, a key prefix unique to the test) with no bypass window,
so a test can stop and restart Redis and watch the app degrade and recover.
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import redis

from core.redis.config import REDIS_DATABASES, cache_config, url_with_db
from core.testing.ports import free_port


class RedisServer:
    def __init__(self, directory: Path, port: int | None = None, extra_args: tuple = ()):
        self.directory = directory
        self.port = port or free_port()
        self.extra_args = list(extra_args)  # e.g. ("--replicaof", host, port)
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return self.url_for(0)

    def url_for(self, db: int) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def client(self, db: int = 0) -> redis.Redis:
        return redis.Redis(port=self.port, db=db, socket_timeout=1)

    def start(self) -> RedisServer:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--dir",
                str(self.directory),
                *self.extra_args,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if self.client().ping():
                    return self
            except redis.ConnectionError:
                time.sleep(0.01)
        self.stop()
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(10)
            self.process = None


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def redis_caches(settings, redis_server):
    """Every cache alias on the test's own Redis; the bypass window is 0 (retry at once)."""
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings.CACHES = {
        alias: cache_config(
            url_with_db(redis_server.url, REDIS_DATABASES[alias]),
            timeout=60,
            key_prefix=prefix,
            connect_timeout=0.1,
            socket_timeout=0.2,
            ignore_exceptions=alias == "default",
        )
        for alias in ("default", "permissions", "api_responses")
    }
    settings.CACHE_RETRY_AFTER = 0
    return redis_server

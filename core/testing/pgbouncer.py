"""A private PgBouncer for tests and benchmarks, and the pytest plugin of the PgBouncer pass.

``PgBouncer`` renders the shipped ``deploy/pgbouncer/pgbouncer.ini`` with only the addresses,
paths, authentication and pool sizes replaced (so the sample stays a working file), starts it on a
free loopback port in front of a PostgreSQL server, and stops it.

The plugin (loaded by the root conftest; active with ``DB_PGBOUNCER=true pytest --pgbouncer``;
``make test`` runs the API and order tests through it once more) starts one PgBouncer in
transaction mode in the controller process. pytest-django creates and drops the test databases directly on PostgreSQL,
as ``provision_db``/``migrate`` do in production; every test then talks to PgBouncer.
"""

from __future__ import annotations

import configparser
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from core.testing.ports import free_port

SAMPLE_INI = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer" / "pgbouncer.ini"
ENV_VAR = "ERP_TEST_PGBOUNCER_PORT"  # set by the controller, read by xdist workers
SKIP_REASON = (
    "pgbouncer is not installed (scripts/install_test_tools.sh installs the Debian package; "
    "it needs root and apt-get): the PgBouncer tests are skipped"
)


def pgbouncer_binary() -> str | None:
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.access("/usr/sbin/pgbouncer", os.X_OK) else None
    )


class PgBouncer:
    """``pgbouncer`` on 127.0.0.1:<free port> in front of ``upstream_host:upstream_port``.

    Authentication is ``trust`` for the given users (loopback only, tests only); ``databases``
    maps names to libpq options (default: every database, ``*``, on the upstream server).
    ``settings`` overrides any ``[pgbouncer]`` key of the sample file.
    """

    def __init__(
        self,
        upstream_host: str,
        upstream_port: int,
        users: tuple[str, ...] = ("postgres",),
        *,
        databases: dict[str, str] | None = None,
        settings: dict[str, object] | None = None,
        directory: Path | None = None,
    ):
        # ``directory`` must be reachable by the postgres OS user when running as root (not
        # pytest's tmp_path, which is private to root): default, a new directory in /tmp.
        self.upstream = (upstream_host, upstream_port)
        self.users = users
        self.databases = databases or {"*": f"host={upstream_host} port={upstream_port}"}
        self.settings = settings or {}
        self.directory = directory or Path(tempfile.mkdtemp(prefix="erp-pgbouncer-"))
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def ini_path(self) -> Path:
        return self.directory / "pgbouncer.ini"

    @property
    def log_path(self) -> Path:
        return self.directory / "pgbouncer.log"

    def render(self) -> str:
        """The sample ini with this instance's addresses, paths, auth and overrides."""
        parser = configparser.ConfigParser(
            interpolation=None, delimiters=("=",), comment_prefixes=(";", "#")
        )
        parser.optionxform = str  # keep keys as written
        parser.read(SAMPLE_INI)
        parser.remove_section("databases")
        parser.add_section("databases")
        for name, options in self.databases.items():
            parser["databases"][name] = options
        section = parser["pgbouncer"]
        section.update(
            {
                "listen_addr": "127.0.0.1",
                "listen_port": str(self.port),
                "unix_socket_dir": "",
                "auth_type": "trust",
                "auth_file": str(self.directory / "userlist.txt"),
                "admin_users": ",".join(self.users),
                "stats_users": ",".join(self.users),
                "logfile": str(self.log_path),
                "pidfile": str(self.directory / "pgbouncer.pid"),
            }
        )
        section.update({key: str(value) for key, value in self.settings.items()})
        lines = []
        for name in ("databases", "pgbouncer"):
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {value}" for key, value in parser[name].items())
            lines.append("")
        return "\n".join(lines)

    def start(self) -> PgBouncer:
        binary = pgbouncer_binary()
        if binary is None:
            raise RuntimeError(SKIP_REASON)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.ini_path.write_text(self.render())
        (self.directory / "userlist.txt").write_text(
            "".join(f'"{user}" ""\n' for user in self.users)
        )
        prefix: list[str] = []
        if os.geteuid() == 0:  # "PgBouncer should not run as root"
            shutil.chown(self.directory, "postgres", "postgres")
            for path in self.directory.iterdir():
                shutil.chown(path, "postgres", "postgres")
            prefix = ["runuser", "-u", "postgres", "--"]
        with (self.directory / "stderr.log").open("w") as stderr:
            self.process = subprocess.Popen(
                [*prefix, binary, str(self.ini_path)], stdout=subprocess.DEVNULL, stderr=stderr
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                self.admin("SHOW VERSION")
                return self
            except psycopg.OperationalError:
                time.sleep(0.05)
        log = "".join(
            path.read_text()
            for path in (self.log_path, self.directory / "stderr.log")
            if path.exists()
        )
        self.stop()
        raise RuntimeError(f"pgbouncer did not start on port {self.port}:\n{log[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None

    def cleanup(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)

    def connect(self, dbname: str, user: str | None = None, **kwargs) -> psycopg.Connection:
        kwargs.setdefault("autocommit", True)
        return psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=user or self.users[0],
            dbname=dbname,
            connect_timeout=2,
            **kwargs,
        )

    def admin(self, command: str) -> list[dict]:
        """A command on the admin console (``SHOW POOLS``, ``KILL db``...) as rows of dicts.

        The console only speaks the simple query protocol: a ClientCursor without parameters.
        """
        with self.connect("pgbouncer", cursor_factory=psycopg.ClientCursor) as conn:
            cursor = conn.execute(command)
            if cursor.description is None:
                return []
            names = [column.name for column in cursor.description]
            return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]

    def server_connections(self, dbname: str) -> int:
        """Server connections PgBouncer holds to ``dbname`` (active + idle + used + ...)."""
        return sum(
            row["sv_active"] + row["sv_idle"] + row["sv_used"] + row["sv_tested"] + row["sv_login"]
            for row in self.admin("SHOW POOLS")
            if row["database"] == dbname
        )


# --- the pytest plugin (make test's PgBouncer pass) ---------------------------------------


def pytest_addoption(parser):
    parser.addoption(
        "--pgbouncer",
        action="store_true",
        help="run the tests through a private PgBouncer in transaction mode (needs "
        "DB_PGBOUNCER=true in the environment); make test does it for the API and order tests",
    )


def pytest_configure(config):
    if not config.getoption("--pgbouncer"):
        return
    if hasattr(config, "workerinput") or os.environ.get(ENV_VAR):
        return  # an xdist worker: the controller's PgBouncer is in the environment
    from django.conf import settings

    default = settings.DATABASES["default"]
    if not default.get("DISABLE_SERVER_SIDE_CURSORS"):
        raise pytest.UsageError(
            "The PgBouncer pass needs DB_PGBOUNCER=true in the environment (settings must be "
            "built for transaction pooling): DB_PGBOUNCER=true pytest --pgbouncer ..."
        )
    if pgbouncer_binary() is None:
        config._erp_pgbouncer_skip = SKIP_REASON
        return
    bouncer = PgBouncer(
        default.get("HOST") or "127.0.0.1",
        int(default.get("PORT") or 5432),
        users=(default.get("USER") or "postgres",),
        settings={"default_pool_size": 10, "max_client_conn": 500},
    ).start()
    config._erp_pgbouncer = bouncer
    os.environ[ENV_VAR] = str(bouncer.port)


def pytest_unconfigure(config):
    bouncer = getattr(config, "_erp_pgbouncer", None)
    if bouncer is not None:
        bouncer.cleanup()
        os.environ.pop(ENV_VAR, None)


def pytest_collection_modifyitems(config, items):
    reason = getattr(config, "_erp_pgbouncer_skip", None)
    if reason:
        for item in items:
            item.add_marker(pytest.mark.skip(reason=reason))


def _console(port: int, user: str, command: str) -> list[dict]:
    with psycopg.connect(
        host="127.0.0.1",
        port=port,
        user=user,
        dbname="pgbouncer",
        autocommit=True,
        cursor_factory=psycopg.ClientCursor,
        connect_timeout=2,
    ) as console:
        cursor = console.execute(command)
        if cursor.description is None:
            return []
        names = [column.name for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.fixture(scope="session", autouse=True)
def _through_pgbouncer(request, django_db_setup, django_db_blocker):
    """After pytest-django created the test database directly, route ``default`` via PgBouncer.

    At the end PgBouncer drops its server connections to the test database (``KILL``), so that
    pytest-django can drop it.
    """
    port = os.environ.get(ENV_VAR)
    if not port or not request.config.getoption("--pgbouncer"):
        yield
        return
    from django.db import connections

    port = int(port)
    wrapper = connections["default"]
    user = wrapper.settings_dict["USER"] or "postgres"
    saved = (wrapper.settings_dict["HOST"], wrapper.settings_dict["PORT"])
    dbname = wrapper.settings_dict["NAME"]
    with django_db_blocker.unblock():
        wrapper.close()
        wrapper.settings_dict["HOST"], wrapper.settings_dict["PORT"] = "127.0.0.1", port
        with wrapper.cursor() as cursor:  # fail early, and say why, if PgBouncer is unusable
            cursor.execute("SELECT current_database()")
            assert cursor.fetchone()[0] == dbname
        pools = [row for row in _console(port, user, "SHOW POOLS") if row["database"] == dbname]
        assert pools and pools[0]["pool_mode"] == "transaction" and pools[0]["cl_active"] >= 1, (
            f"the test connection does not go through PgBouncer: {pools}"
        )
    yield
    with django_db_blocker.unblock():
        wrapper.close()
        _console(port, user, f"KILL {dbname}")
        wrapper.settings_dict["HOST"], wrapper.settings_dict["PORT"] = saved

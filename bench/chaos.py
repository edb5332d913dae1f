"""`make chaos`: the whole stack under steady load while single faults are injected, one by one.

Starts the stack the way ``make run`` does (supervisord with ``config/supervisord.conf``:
gunicorn, worker, beat) on private ports, against its own throwaway PostgreSQL cluster
(``initdb``, never the system one), its own Redis Sentinel group (master + replica + three
sentinels: ``core.testing.sentinel``) and its own SMTP server (``SmtpSink``: every message it
accepts is written to a file and counted). Steady load: product reads, order placements (each
sends one confirmation e-mail through the outbox and the worker) and exports.

Faults, in order: Redis restart, Sentinel master kill, worker child SIGKILL, worker main
SIGKILL, beat SIGKILL, PostgreSQL restart, SMTP refusing connections. Per fault it prints the
client-visible errors by status, the longest time without a successful write (an order), and the
time to recover after the component returned. At the end: orders committed vs confirmation
e-mails (each exactly once), exports requested vs done, tasks lost. The table also goes to
``bench/results`` (``bench/results.py``). docs/operations.md "make chaos" explains how to read it.

    python -m bench.chaos            # the issue's durations (SMTP down 120 s): ~8 min
    python -m bench.chaos --quick    # short outages: ~4 min
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import json
import os
import shutil
import signal
import socketserver
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from core.testing.ports import free_port
from core.testing.sentinel import MASTER_NAME, SentinelGroup

from .common import PYTHON, ROOT, manage, print_table, step
from .results import record

PG_BIN = Path(
    subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True).stdout.strip()
    or "/usr/lib/postgresql/15/bin"
)
DBNAME = "erp_chaos"
PASSWORD = "chaos-pass-2024"


# --- components ---------------------------------------------------------------------------------


def _as_postgres(args: list[str], **kwargs) -> subprocess.CompletedProcess:
    """initdb/pg_ctl refuse to run as root: run them as the postgres OS user then."""
    prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    return subprocess.run(prefix + args, check=True, capture_output=True, text=True, **kwargs)


class Postgres:
    """A throwaway cluster (initdb, trust auth on loopback, a free port)."""

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "pgdata"
        self.port = free_port()
        directory.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(directory, "postgres", "postgres")

    def init(self) -> Postgres:
        _as_postgres(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"]
        )
        return self

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -c port={self.port} -k {self.directory}"
        options += " -c max_connections=200 -c fsync=off"
        _as_postgres(
            [str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "log"),
             "-o", options, "-w", "start"]
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            _as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"])

    def url(self, user: str = "postgres", password: str = "", db: str = "postgres") -> str:
        auth = f"{user}:{password}" if password else user
        return f"postgres://{auth}@127.0.0.1:{self.port}/{db}"


class _SmtpHandler(socketserver.StreamRequestHandler):
    """Just enough SMTP for Django's backend: EHLO/HELO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def handle(self):
        self._send("220 chaos-smtp ready")
        data_lines: list[str] | None = None
        while line := self.rfile.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if data_lines is not None:
                if text == ".":
                    self.server.sink.store("\n".join(data_lines))
                    data_lines = None
                    self._send("250 OK queued")
                else:
                    data_lines.append(text[1:] if text.startswith("..") else text)
                continue
            verb = text[:4].upper()
            if verb == "EHLO":
                self._send("250-chaos-smtp\r\n250 8BITMIME")
            elif verb == "DATA":
                data_lines = []
                self._send("354 end with .")
            elif verb == "QUIT":
                self._send("221 bye")
                return
            else:  # HELO, MAIL, RCPT, RSET, NOOP
                self._send("250 OK")

    def _send(self, text: str) -> None:
        self.wfile.write(text.encode() + b"\r\n")


class SmtpSink:
    """A local SMTP server the harness controls: ``refuse()`` closes the port (connection refused)
    until ``accept()``. Every accepted message is written to ``directory`` and its subject kept."""

    def __init__(self, directory: Path):
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.subjects: list[str] = []
        self.times: list[float] = []  # time.monotonic() of each accepted message
        self.lock = threading.Lock()
        self.server: socketserver.ThreadingTCPServer | None = None

    def store(self, message: str) -> None:
        subject = next(
            (line[9:].strip() for line in message.splitlines() if line.startswith("Subject: ")), ""
        )
        with self.lock:
            self.subjects.append(subject)
            self.times.append(time.monotonic())
            (self.directory / f"{len(self.subjects):06d}.eml").write_text(message)

    def accept(self) -> None:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", self.port), _SmtpHandler)
        self.server.daemon_threads = True
        self.server.sink = self
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def refuse(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None


# --- the stack ----------------------------------------------------------------------------------


class Stack:
    """supervisord running config/supervisord.conf (web, worker, beat) with the chaos env."""

    def __init__(self, directory: Path, env: dict[str, str]):
        self.directory = directory
        self.env = env
        self.log = directory / "stack.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen(
                [str(Path(PYTHON).parent / "supervisord"), "-n", "-c", "config/supervisord.conf"],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip

    def ctl(self, *args: str) -> str:
        result = subprocess.run(
            [str(Path(PYTHON).parent / "supervisorctl"), "-c", "config/supervisord.conf", *args],
            cwd=ROOT, env=self.env, capture_output=True, text=True,
        )  # fmt: skip
        return result.stdout.strip()

    def pid(self, program: str) -> int:
        value = self.ctl("pid", program)
        return int(value) if value.isdigit() else 0

    def children(self, pid: int) -> list[int]:
        path = Path(f"/proc/{pid}/task/{pid}/children")
        with contextlib.suppress(OSError):
            return [int(p) for p in path.read_text().split()]
        return []

    def stop(self) -> None:
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=90)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        # Programs have their own process groups: kill what is left of them.
        for line in self.log.read_text(errors="replace").splitlines():
            if "success: " in line or "spawned: " in line:
                with contextlib.suppress(
                    ValueError, IndexError, ProcessLookupError, PermissionError
                ):
                    pid = int(line.rsplit("pid ", 1)[1].split(")")[0])
                    os.killpg(pid, signal.SIGKILL)


# --- load -----------------------------------------------------------------------------------


@dataclass
class Event:
    at: float
    kind: str  # read | order | export
    status: int  # 0: no HTTP answer (connection refused/reset, timeout)
    retry_after: bool = False
    id: int | None = None


@dataclass
class Load:
    base: str
    token: str
    org: str
    products: list[int]
    events: list[Event] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def call(self, kind: str, method: str, path: str, body: dict | None = None) -> None:
        request = urllib.request.Request(
            self.base + path,
            method=method,
            data=json.dumps(body).encode() if body is not None else None,
            headers={
                "Authorization": f"Token {self.token}",
                "X-Organization": self.org,
                "Content-Type": "application/json",
            },
        )
        event = Event(time.monotonic(), kind, 0)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                event.status = response.status
                if kind != "read":
                    event.id = json.loads(response.read() or b"{}").get("id")
        except urllib.error.HTTPError as exc:
            event.status = exc.code
            event.retry_after = bool(exc.headers.get("Retry-After"))
        except (OSError, ValueError):
            event.status = 0
        event.at = time.monotonic()  # when the client got its answer (or gave up)
        with self.lock:
            self.events.append(event)

    def loop(self, interval: float, action) -> None:
        n = 0
        while not self.stopping.is_set():
            action(n)
            n += 1
            self.stopping.wait(interval)

    def start(self) -> list[threading.Thread]:
        actions = [
            (0.05, lambda n: self.call("read", "GET", "/api/v1/products/")),
            (
                0.05,
                lambda n: self.call("read", "GET", f"/api/v1/products/{self.products[n % 10]}/"),
            ),
            (
                0.2,
                lambda n: self.call(
                    "order",
                    "POST",
                    "/api/v1/orders/",
                    {"lines": [{"product": self.products[n % len(self.products)], "quantity": 1}]},
                ),
            ),
            (
                2.0,
                lambda n: self.call(
                    "export", "POST", "/api/v1/exports/", {"kind": "products", "format": "csv"}
                ),
            ),
        ]
        threads = [
            threading.Thread(target=self.loop, args=action, daemon=True) for action in actions
        ]
        for thread in threads:
            thread.start()
        return threads

    def window(self, start: float, end: float) -> list[Event]:
        with self.lock:
            return [e for e in self.events if start <= e.at < end]


def _ok(event: Event) -> bool:
    return 200 <= event.status < 300


@dataclass
class Fault:
    name: str
    injected: float
    returned: float
    ended: float
    smtp: SmtpSink
    note: str = ""

    def row(self, load: Load) -> list:
        events = load.window(self.injected, self.ended)
        errors = collections.Counter(
            ("conn" if e.status == 0 else str(e.status)) for e in events if not _ok(e)
        )
        retry_after = sum(1 for e in events if e.status == 503 and e.retry_after)
        error_text = ", ".join(f"{k}×{v}" for k, v in sorted(errors.items())) or "none"
        if errors.get("503"):
            error_text += f" (Retry-After {retry_after}/{errors['503']})"
        writes = [e.at for e in events if e.kind == "order" and _ok(e)]
        points = [self.injected, *writes, self.ended]
        gap = max(b - a for a, b in zip(points, points[1:], strict=False))
        first_ok = next(
            (
                e.at
                for e in load.window(self.returned, self.ended + 60)
                if e.kind == "order" and _ok(e)
            ),
            None,
        )
        recover = "never" if first_ok is None else f"{max(0.0, first_ok - self.returned):.1f}"
        with self.smtp.lock:
            mail_times = [t for t in self.smtp.times if t >= self.returned]
        mail = "none yet" if not mail_times else f"{max(0.0, mail_times[0] - self.returned):.1f}"
        return [
            self.name,
            error_text,
            sum(errors.values()),
            errors.get("500", 0),
            f"{gap:.1f}",
            f"{self.returned - self.injected:.1f}",
            recover,
            mail,
            self.note,
        ]

    def figures(self, load: Load) -> dict:
        row = self.row(load)
        return {
            "rps": round(
                sum(
                    1
                    for e in load.window(self.injected, self.ended)
                    if e.kind == "order" and _ok(e)
                )
                / max(0.001, self.ended - self.injected),
                2,
            ),
            "errors": row[2],
            "http_500": row[3],
            "longest_no_write_s": float(row[4]),
            "component_down_s": float(row[5]),
            "recover_s": -1.0 if row[6] == "never" else float(row[6]),
            "first_mail_after_s": -1.0 if row[7] == "none yet" else float(row[7]),
        }


# --- the run --------------------------------------------------------------------------------


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return
        time.sleep(0.2)
    sys.exit(f"[chaos] timed out after {timeout:g}s waiting for {what}")


SEED = """
from django.contrib.auth import get_user_model
from api.v1.base_models.organization.models import Membership, Organization, Role
from api.v1.catalog.products.models import Product
from knox.models import AuthToken
org = Organization.objects.create(name="Chaos", slug="chaos")
user = get_user_model().objects.create_user("chaos", "chaos@example.com", "{password}")
Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="admin"))
products = Product.objects.bulk_create(
    Product(organization=org, sku=f"C-{{i}}", name=f"Chaos {{i}}", price="9.99", stock=10**9)
    for i in range(50))
print("SEED", AuthToken.objects.create(user=user)[1],
      ",".join(str(p.pk) for p in products))
"""


def _get_json(url: str, timeout: float = 3.0) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, {}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="short outages (about 4 minutes in all)"
    )
    parser.add_argument("--smtp-outage", type=float, help="seconds SMTP refuses (default 120)")
    parser.add_argument("--pg-outage", type=float, help="seconds PostgreSQL is down (default 10)")
    parser.add_argument("--settle", type=float, help="seconds of load after each recovery (10)")
    parser.add_argument("--drain", type=float, default=600, help="max seconds to wait at the end")
    parser.add_argument("--keep", action="store_true", help="keep the temp directory (logs)")
    args = parser.parse_args()
    ok = False
    smtp_outage = args.smtp_outage or (20.0 if args.quick else 120.0)
    pg_outage = args.pg_outage or (5.0 if args.quick else 10.0)
    settle = args.settle or (5.0 if args.quick else 10.0)
    for tool in ("redis-server", "runuser" if os.geteuid() == 0 else "true"):
        if not shutil.which(tool):
            sys.exit(f"[chaos] {tool} is not installed (scripts/install_test_tools.sh)")
    if not (PG_BIN / "initdb").exists():
        sys.exit(f"[chaos] initdb not found in {PG_BIN}: install the PostgreSQL server package")

    tmp = Path(tempfile.mkdtemp(prefix="erp-chaos-"))
    os.chmod(tmp, 0o755)
    step(f"working directory {tmp} (logs: stack.log, pg/log, redis/sentinel-*.log)")
    pg = Postgres(tmp / "pg")
    group = SentinelGroup(tmp / "redis", down_after_ms=3000, failover_ms=6000)
    for node in group.nodes:  # the broker's production settings (docs/caching.md)
        node.extra_args += ["--appendonly", "yes", "--appendfsync", "everysec"]
    smtp = SmtpSink(tmp / "mail")
    stack = None
    load = None
    try:
        step("PostgreSQL: initdb + start (private cluster)")
        pg.init().start()
        step("Redis: master + replica + 3 sentinels")
        group.start()
        smtp.accept()
        web_port = free_port()
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("REDIS_", "CELERY_", "DATABASE_", "EMAIL_"))
        }
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings.dev",
            DEBUG="false",
            SECRET_KEY="chaos-" + os.urandom(24).hex(),
            DATABASE_URL=pg.url("erp_app", "erp_app_dev", DBNAME),
            DATABASE_OWNER_URL=pg.url("erp_owner", "erp_owner_dev", DBNAME),
            DATABASE_ADMIN_URL=pg.url(),
            REDIS_SENTINELS=group.env_value,
            REDIS_SENTINEL_MASTER=MASTER_NAME,
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            EMAIL_TIMEOUT="5",
            MEDIA_ROOT=str(tmp / "media"),
            ERP_RUN_DIR=str(tmp / "run"),
            GUNICORN_BIND=f"127.0.0.1:{web_port}",
            GUNICORN_ACCESSLOG="",
            LOG_LEVEL="INFO",
            CELERY_WORKER_CONCURRENCY="2",
            # Short tasks only (an export of 50 products, an e-mail): time limits of a minute let
            # the outbox send again what the broker lost after 90 s rather than 45 min
            # (OUTBOX_REDELIVER_AFTER must stay above CELERY_TASK_TIME_LIMIT).
            CELERY_TASK_SOFT_TIME_LIMIT="50",
            CELERY_TASK_TIME_LIMIT="60",
            OUTBOX_REDELIVER_AFTER="90",
        )
        env.pop("REDIS_URL", None)
        (tmp / "run").mkdir()
        (tmp / "media").mkdir()
        step("provisioning + migrating the chaos database")
        manage(env, "provision_db")
        manage(env, "migrate", "--no-input", owner=True)
        seed = manage(env, "shell", "-c", SEED.format(password=PASSWORD))
        token, products = seed.split("SEED", 1)[1].split()
        step("starting web + worker + beat under supervisord (config/supervisord.conf)")
        stack = Stack(tmp, env)
        stack.start()
        base = f"http://127.0.0.1:{web_port}"
        _wait(lambda: _get_json(f"{base}/health/live/")[0] == 200, 90, "gunicorn")
        _wait(
            lambda: (
                _get_json(f"{base}/health/ready/")[1]["components"]["celery_workers"]["status"]
                == "ok"
            ),
            120,
            "the worker's heartbeat",
        )
        load = Load(base, token, "chaos", [int(p) for p in products.split(",")])
        threads = load.start()
        faults: list[Fault] = []

        def phase(name: str, inject, restore=None, note: str = "") -> None:
            step(f"fault: {name}")
            injected = time.monotonic()
            inject()
            returned = restore() if restore else time.monotonic()
            time.sleep(settle)
            faults.append(Fault(name, injected, returned, time.monotonic(), smtp, note))
            row = faults[-1].row(load)
            step(f"  errors: {row[1]}; longest without a write {row[4]} s; recover {row[6]} s")

        _wait(
            lambda: any(e.kind == "order" and _ok(e) for e in load.window(0, time.monotonic())),
            120,
            "the first order",
        )
        phase("none (steady load)", lambda: None)

        def redis_restart():
            master = group.master()
            master.process.send_signal(signal.SIGTERM)  # graceful: AOF flushed
            master.process.wait(30)
            master.process = None
            master.start()  # same port, same AOF: within down-after, no failover

        phase("Redis restart (master, SIGTERM + start)", redis_restart)

        killed = {}

        def master_kill():
            killed["node"] = group.kill_master()
            killed["port"] = killed["node"].port

        def master_back() -> float:
            group.wait_failover(killed["port"], timeout=60)
            returned = time.monotonic()
            killed["node"].start()  # back as a replica (the sentinels reconfigure it)
            return returned

        phase("Sentinel master kill (SIGKILL)", master_kill, master_back, "back = replica promoted")

        def kill_child():
            main_pid = stack.pid("worker")
            children = stack.children(main_pid)
            if children:
                os.kill(children[0], signal.SIGKILL)

        phase("worker child SIGKILL", kill_child)

        def kill_program(program: str):
            def inject():
                killed[program] = stack.pid(program)
                os.kill(killed[program], signal.SIGKILL)

            def back() -> float:
                _wait(
                    lambda: stack.pid(program) not in (0, killed[program]),
                    60,
                    f"supervisord to restart {program}",
                )
                return time.monotonic()

            return inject, back

        phase("worker main SIGKILL", *kill_program("worker"), "back = supervisord restarted it")
        phase("beat SIGKILL", *kill_program("beat"), "back = supervisord restarted it")

        def pg_down():
            pg.stop("fast")
            time.sleep(pg_outage)

        def pg_up() -> float:
            pg.start()
            return time.monotonic()

        phase(f"PostgreSQL restart ({pg_outage:g} s down)", pg_down, pg_up)

        def smtp_down():
            smtp.refuse()
            time.sleep(smtp_outage)

        def smtp_up() -> float:
            smtp.accept()
            return time.monotonic()

        phase(f"SMTP refusing ({smtp_outage:g} s)", smtp_down, smtp_up, "e-mails retried")

        load.stopping.set()
        for thread in threads:
            thread.join(15)
        totals = _drain(load, smtp, pg, args.drain)
        totals["exits"] = process_exits(stack.log)
        ok = _report(faults, load, totals, args.quick)
    finally:
        if load is not None:
            load.stopping.set()
        if stack is not None:
            step("stopping the stack")
            stack.stop()
        group.stop()
        smtp.refuse()
        pg.stop("immediate")
        if args.keep:
            step(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    sys.exit(0 if ok else 1)


def _drain(load: Load, smtp: SmtpSink, pg: Postgres, timeout: float) -> dict:
    """Wait until every committed order has its e-mail and every export is finished."""
    import psycopg

    def state() -> dict:
        with psycopg.connect(pg.url(db=DBNAME), autocommit=True) as conn:
            orders = [r[0] for r in conn.execute("SELECT id FROM orders_order ORDER BY id")]
            exports = dict(
                conn.execute(
                    "SELECT status, count(*) FROM exports_export GROUP BY status"
                ).fetchall()
            )
            reruns = conn.execute(
                "SELECT count(*) FROM exports_export WHERE attempts > 1"
            ).fetchone()[0]
            resent = conn.execute(
                "SELECT count(*) FROM outbox_outboxmessage WHERE redeliveries > 0"
            ).fetchone()[0]
        with smtp.lock:
            mails = collections.Counter(smtp.subjects)
        return {
            "orders": orders,
            "exports": exports,
            "reruns": reruns,
            "mails": mails,
            "resent": resent,
        }

    step(f"draining: waiting (at most {timeout:g} s) for every e-mail and export")
    deadline = time.monotonic() + timeout
    current = state()
    while time.monotonic() < deadline:
        current = state()
        missing = [o for o in current["orders"] if not current["mails"][f"Order #{o} confirmed"]]
        unfinished = sum(v for k, v in current["exports"].items() if k not in ("done", "failed"))
        if not missing and not unfinished:
            break
        step(f"  {len(missing)} e-mails and {unfinished} exports outstanding")
        time.sleep(5)
    return current


# The injected kills supervisord logs as unexpected exits: worker main SIGKILL, beat SIGKILL.
PLANNED_EXITS = 2


def process_exits(log: Path) -> list[str]:
    """supervisord's "exited: <program> (...; not expected)" lines of the run."""
    return [
        line.split("exited: ", 1)[1]
        for line in log.read_text(errors="replace").splitlines()
        if "exited: " in line and "not expected" in line
    ]


def _report(faults: list[Fault], load: Load, totals: dict, quick: bool) -> bool:
    headers = [
        "fault",
        "client-visible errors",
        "errors",
        "500s",
        "longest no write s",
        "component down s",
        "recover s",
        "first e-mail s",
        "note",
    ]
    print_table("make chaos: per fault", headers, [fault.row(load) for fault in faults])
    orders = totals["orders"]
    mails = totals["mails"]
    per_order = [mails[f"Order #{o} confirmed"] for o in orders]
    committed_by_api = {e.id for e in load.events if e.kind == "order" and e.status == 201}
    exports_requested = sum(1 for e in load.events if e.kind == "export" and e.status == 202)
    done = totals["exports"].get("done", 0)
    failed = totals["exports"].get("failed", 0)
    outstanding = sum(v for k, v in totals["exports"].items() if k not in ("done", "failed"))
    all_500 = sum(1 for e in load.events if e.status == 500)
    summary = [
        ["orders committed (DB)", len(orders)],
        ["orders answered 201", len(committed_by_api)],
        ["orders committed but not answered 201", len(set(orders) - committed_by_api)],
        ["confirmation e-mails", sum(per_order)],
        ["orders with exactly one e-mail", sum(1 for n in per_order if n == 1)],
        ["orders with no e-mail (lost)", sum(1 for n in per_order if n == 0)],
        ["orders with 2+ e-mails (doubled)", sum(1 for n in per_order if n > 1)],
        ["exports requested (202)", exports_requested],
        ["exports done", done],
        ["exports failed", failed],
        ["exports not finished (lost)", outstanding],
        ["exports that ran more than once", totals["reruns"]],
        ["tasks lost (e-mails + exports)", sum(1 for n in per_order if n == 0) + outstanding],
        ["tasks sent again by the outbox (broker lost them)", totals["resent"]],
        ["HTTP 500 over the whole run", all_500],
        # A crash the stack did not ride out by itself (supervisord restarted the program).
        ["process exits besides the 2 injected kills", len(totals["exits"]) - PLANNED_EXITS],
        ["requests over the whole run", len(load.events)],
    ]
    print_table("make chaos: totals", ["what", "count"], summary)
    figures = {fault.name: fault.figures(load) for fault in faults}
    figures["totals"] = {k: v for k, v in summary}
    path = record(
        "chaos" + ("-quick" if quick else ""),
        figures,
        baseline="none (steady load)",
        unit="orders/s",
    )
    step(f"recorded in {path}")
    missed = []
    if all_500:
        missed.append(f"{all_500} HTTP 500")
    if lost := sum(1 for n in per_order if n == 0) + outstanding:
        missed.append(f"{lost} tasks lost")
    if doubled := sum(1 for n in per_order if n > 1):
        missed.append(f"{doubled} e-mails doubled")
    if (unplanned := len(totals["exits"]) - PLANNED_EXITS) > 0:
        missed.append(f"{unplanned} unplanned process exits: " + "; ".join(totals["exits"]))
    slow = [f.name for f in faults if (r := f.row(load)[6]) == "never" or float(r) > 10]
    if slow:
        missed.append("not back within 10 s: " + ", ".join(slow))
    if missed:
        print("\nTARGETS MISSED: " + "; ".join(missed), flush=True)
    else:
        print("\nAll targets met: 0 lost, 0 doubled, no 500, back within 10 s.", flush=True)
    return not missed


if __name__ == "__main__":
    main()

"""File upload/download throughput through the API vs a plain file copy, and server memory.

Run: ``.venv/bin/python -m bench.files [--size-mb 200]``

What it does, all in one run on the same disk:
1. baselines: a userspace copy of a SIZE MB file in 1 MB blocks (write throughput of this disk)
   and a plain read + SHA-256 of it (what a download client does);
2. starts gunicorn like ``make run`` (config/gunicorn.py, sync workers) on a free port against a
   dedicated database ``erp_bench_files`` (created fresh, dropped at the end) with MEDIA_ROOT and
   the upload spool in a temp dir next to the baseline files;
3. uploads the file through ``POST /api/v1/files/`` (streamed multipart, never in client memory)
   while sampling every worker's RSS from /proc; downloads it back through
   ``GET /api/v1/files/<id>/download/`` and checks the SHA-256.

Each is repeated ``--repeat`` times (default 3) and the median reported (the shared machine is
noisy); every timed step starts after ``os.sync()``, so one step's disk writeback isn't
charged to the next. Prints a table: MB/s of each, the ratio to the copy, and the workers' peak
RSS growth during the uploads (must stay under 32 MB: the body is streamed, never held in
memory); exits 1 if that or the upload target (>= 0.5x the bare body read) is missed.
"""

from __future__ import annotations

import argparse
import hashlib
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

from core.testing.ports import free_port

from .common import bench_env, create_database, drop_database

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
ADMIN_URL = os.environ.get("DATABASE_ADMIN_URL", "postgres://postgres@127.0.0.1:5432/postgres")
DB_NAME = "erp_bench_files"
MB = 1024 * 1024
MEMORY_BUDGET_MB = 32
UPLOAD_TARGET = 0.5  # issue 14: an upload at >= 0.5x the bare WSGI body read
BLOCK = 1024 * 1024


def bare_app(environ, start_response):
    """The bare baseline: gunicorn + WSGI with no Django. POST reads and discards the body;
    GET sends ``BENCH_BARE_FILE`` through ``wsgi.file_wrapper`` (sendfile), like FileResponse."""
    if environ["REQUEST_METHOD"] == "POST":
        stream, n = environ["wsgi.input"], 0
        while block := stream.read(BLOCK):
            n += len(block)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [str(n).encode()]
    if environ["PATH_INFO"] == "/health/live/":
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]
    path = os.environ["BENCH_BARE_FILE"]
    start_response(
        "200 OK",
        [
            ("Content-Type", "application/octet-stream"),
            ("Content-Length", str(os.path.getsize(path))),
        ],
    )
    return environ["wsgi.file_wrapper"](open(path, "rb"), BLOCK)  # noqa: SIM115


def make_source(path: Path, size: int) -> str:
    """A CSV file of ``size`` bytes (an allowed type); returns its SHA-256."""
    digest = hashlib.sha256()
    row = b"%08d,widget,12.50,warehouse-a\n"
    with path.open("wb") as out:
        written, n = 0, 0
        while written < size:
            block = b"".join(row % (n + i) for i in range(BLOCK // 32))[: size - written]
            n += BLOCK // 32
            out.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


def timed(func, *args):
    """(func(*args), seconds it took), from a clean page cache state: ``os.sync()`` first, so
    the writeback of an earlier step (the copy baseline writes 3 x SIZE, each upload SIZE)
    isn't charged to this one (it throttled the uploads' spool writes to ~45 MB/s)."""
    os.sync()
    started = time.perf_counter()
    result = func(*args)
    return result, time.perf_counter() - started


def copy_plain(source: Path, target: Path) -> None:
    """A userspace copy in 1 MB blocks: the same I/O the server does with an upload."""
    with source.open("rb") as src, target.open("wb") as dst:
        while block := src.read(BLOCK):
            dst.write(block)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(BLOCK):
            digest.update(block)
    return digest.hexdigest()


SETUP_SCRIPT = """
from knox.models import AuthToken
from api.v1.base_models.organization.models import Membership, Organization, Role
from django.contrib.auth import get_user_model
user = get_user_model().objects.create_user("bench", password="bench-pass-123456")
org = Organization.objects.create(name="Bench", slug="bench")
Membership.objects.create(user=user, organization=org, role=Role.objects.get(name="owner"))
print(AuthToken.objects.create(user=user)[1])
"""


def prepare(env: dict) -> str:
    out = subprocess.run(
        [PY, "manage.py", "shell", "-c", SETUP_SCRIPT],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip().splitlines()[-1]


def children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(p) for p in text.split()]


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class RssSampler(threading.Thread):
    """Samples the RSS of each worker every few ms; records each worker's peak."""

    def __init__(self, pids: list[int]):
        super().__init__(daemon=True)
        self.pids = pids
        self.before = {pid: rss_bytes(pid) for pid in pids}
        self.peak = dict(self.before)
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], rss_bytes(pid))
            time.sleep(0.005)

    def growth(self) -> int:
        return max(self.peak[pid] - self.before[pid] for pid in self.pids)


def wait_until_up(port: int, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("gunicorn exited during start-up; see its output above")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health/live/")
            response = conn.getresponse()
            response.read()
            if response.status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("gunicorn did not answer /health/live/ within 60 s")


def upload(
    port: int, token: str, path: Path, name: str, url: str = "/api/v1/files/"
) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = path.stat().st_size

    def body():
        yield head
        with path.open("rb") as f:
            while chunk := f.read(BLOCK):
                yield chunk
        yield tail

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.putrequest("POST", url)
    conn.putheader("Authorization", f"Token {token}")
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.endheaders()
    for part in body():
        conn.send(part)
    response = conn.getresponse()
    payload = response.read()
    return response.status, json.loads(payload) if url == "/api/v1/files/" else payload


def download(port: int, token: str, url: str) -> tuple[int, str, int]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("GET", url, headers={"Authorization": f"Token {token}"})
    response = conn.getresponse()
    digest, total = hashlib.sha256(), 0
    while chunk := response.read(BLOCK):
        digest.update(chunk)
        total += len(chunk)
    return response.status, digest.hexdigest(), total


def start_gunicorn(arguments: list[str], env: dict, port: int) -> subprocess.Popen:
    server = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), *arguments, "--bind", f"127.0.0.1:{port}"]
        # Don't clash with other gunicorns' control socket on this machine.
        + ["--no-control-socket"],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )
    wait_until_up(port, server)
    return server


def stop_gunicorn(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    size = args.size_mb * MB

    work = Path(tempfile.mkdtemp(prefix="erp-bench-files-", dir=ROOT / "bench"))
    source = work / "source.csv"
    media = work / "media"
    spool = media / ".spool"  # same filesystem: storing an upload is a rename
    spool.mkdir(parents=True)
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "DEBUG": "false",
        "ALLOWED_HOSTS": "127.0.0.1",
        # Provisioned like `make migrate` (bench.common): the app role serves, the owner migrates.
        **{k: v for k, v in bench_env(DB_NAME).items() if k.startswith("DATABASE_")},
        "MEDIA_ROOT": str(media),
        "FILE_UPLOAD_TEMP_DIR": str(spool),
        "MAX_UPLOAD_SIZE": str(size + MB),
        "FILES_X_ACCEL_REDIRECT_PREFIX": "",
        "FILES_SCANNER": "",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_TIMEOUT": "600",
        "GUNICORN_ACCESSLOG": "/dev/null",
        "LOG_LEVEL": "WARNING",
    }
    server = None
    try:
        print(f"preparing a {args.size_mb} MB file and database {DB_NAME} ...", flush=True)
        expected = make_source(source, size)
        create_database(DB_NAME)
        token = prepare(env)

        copies = []
        for i in range(args.repeat):
            target = work / f"copy{i}.csv"
            copies.append(timed(copy_plain, source, target)[1])
            target.unlink()
        reads = [timed(sha256_of, source)[1] for _ in range(args.repeat)]

        bare_env = {**env, "BENCH_BARE_FILE": str(source)}
        bare = start_gunicorn(["bench.files:bare_app", "--workers", "1"], bare_env, port)
        try:
            bare_up = [
                timed(upload, port, "", source, "big.csv", "/")[1] for _ in range(args.repeat)
            ]
            bare_down = [timed(download, port, "", "/")[1] for _ in range(args.repeat)]
        finally:
            stop_gunicorn(bare)

        server = start_gunicorn(["config.wsgi", "--config", "config/gunicorn.py"], env, port)
        workers = children(server.pid)
        # Warm up every worker (imports, DB connection, libmagic) with small uploads.
        small = work / "small.csv"
        small.write_bytes(b"a,b\n1,2\n" * 1000)
        for _ in range(len(workers) * 3):
            upload(port, token, small, "warm.csv")

        sampler = RssSampler(workers)
        sampler.start()
        uploads, ids = [], []
        for _ in range(args.repeat):
            (status, body), seconds = timed(upload, port, token, source, "big.csv")
            if status != 201:
                raise SystemExit(f"upload failed: {status} {body}")
            assert body["sha256"] == expected, "server computed another SHA-256"
            uploads.append(seconds)
            ids.append(body["id"])
        sampler.stop.set()
        sampler.join()

        downloads = []
        for file_id in ids:
            url = f"/api/v1/files/{file_id}/download/"
            (status, sha, n), seconds = timed(download, port, token, url)
            if status != 200 or sha != expected or n != size:
                raise SystemExit(f"download mismatch: status {status}, {n} bytes, sha256 {sha}")
            downloads.append(seconds)

        growth_mb = sampler.growth() / MB
        median = statistics.median
        copy_s = median(copies)
        rows = [
            ("plain file copy (baseline)", copy_s, None),
            ("plain file read + SHA-256", median(reads), None),
            ("bare WSGI: read request body", median(bare_up), None),
            ("bare WSGI: sendfile response", median(bare_down), None),
            ("upload via API (POST /files/)", median(uploads), median(bare_up)),
            ("download via API (stream)", median(downloads), median(bare_down)),
        ]
        print()
        print(
            f"{args.size_mb} MB file, median of {args.repeat}, gunicorn sync -w 2 "
            f"(bare: -w 1), same disk ({work.parent})"
        )
        print(f"| {'operation':<32} | {'MB/s':>8} | {'vs copy':>8} | {'vs bare':>8} |")
        print(f"|{'-' * 34}|{'-' * 10}|{'-' * 10}|{'-' * 10}|")
        for label, seconds, bare_s in rows:
            vs_bare = f"{bare_s / seconds:>7.2f}x" if bare_s else f"{'':>8}"
            print(
                f"| {label:<32} | {size / MB / seconds:>8.1f} | {copy_s / seconds:>7.2f}x "
                f"| {vs_bare} |"
            )
        verdict = "OK" if growth_mb < MEMORY_BUDGET_MB else "OVER BUDGET"
        print(
            f"\nserver worker peak RSS growth during the uploads: {growth_mb:.1f} MB "
            f"(budget {MEMORY_BUDGET_MB} MB: {verdict})"
        )
        upload_ratio = median(bare_up) / median(uploads)
        upload_ok = upload_ratio >= UPLOAD_TARGET
        print(
            f"upload via API / bare body read: {upload_ratio:.2f}x "
            f"(target >= {UPLOAD_TARGET}x: {'met' if upload_ok else 'MISSED'})"
        )
        if growth_mb >= MEMORY_BUDGET_MB or not upload_ok:
            sys.exit(1)
    finally:
        if server is not None:
            stop_gunicorn(server)
        shutil.rmtree(work, ignore_errors=True)
        try:
            drop_database(DB_NAME)
        except subprocess.CalledProcessError as exc:
            print(f"could not drop {DB_NAME}: {exc.stderr}", file=sys.stderr)


if __name__ == "__main__":
    main()

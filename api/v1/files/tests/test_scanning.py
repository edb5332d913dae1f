"""Virus scanning through the pluggable interface (a fake scanner) and the clamd protocol (a fake
clamd speaking INSTREAM on a loopback socket)."""

import socket
import struct
import threading

import pytest

from api.v1.files import tasks
from api.v1.files.models import FileStorage, ScanStatus
from api.v1.files.scanning import ClamdScanner, Scanner, ScannerError, ScanResult

from . import samples
from .conftest import URL, upload

pytestmark = pytest.mark.django_db
FAKE = "api.v1.files.tests.test_scanning.FakeScanner"
BROKEN = "api.v1.files.tests.test_scanning.BrokenScanner"


class FakeScanner(Scanner):
    """Flags the EICAR test string, like every real anti-virus engine does."""

    name = "fake"

    def scan(self, stream):
        if samples.EICAR in stream.read():
            return ScanResult(clean=False, signature="Eicar-Test-Signature")
        return ScanResult(clean=True)


class BrokenScanner(Scanner):
    calls = 0

    def scan(self, stream):
        BrokenScanner.calls += 1
        raise ScannerError("scanner down")


@pytest.fixture
def scanning(settings):
    settings.FILES_SCANNER = FAKE
    return settings


def test_scanning_off_files_download_at_once(uploader):
    body = upload(uploader, "a.pdf", samples.pdf()).json()
    assert body["scan_status"] == ScanStatus.NOT_SCANNED
    response = uploader.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 200
    response.close()


def test_clean_file_downloadable_only_after_scan(
    uploader, scanning, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        body = upload(uploader, "a.pdf", samples.pdf()).json()
    assert body["scan_status"] == ScanStatus.PENDING
    assert len(callbacks) == 1  # the scan is queued on commit, not before
    response = uploader.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 409
    assert response.json()["scan_status"] == ScanStatus.PENDING
    callbacks[0]()  # the commit happens: the (eager) task scans
    assert FileStorage.objects.get(pk=body["id"]).scan_status == ScanStatus.CLEAN
    response = uploader.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 200
    response.close()


def test_eicar_is_quarantined_and_reported(
    uploader, scanning, settings, caplog, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(uploader, "eicar.txt", samples.EICAR).json()
    record = FileStorage.objects.get(pk=body["id"])
    assert record.scan_status == ScanStatus.INFECTED
    assert record.storage_key.startswith("quarantine/files/")
    quarantined = settings.MEDIA_ROOT / record.storage_key
    assert quarantined.read_bytes() == samples.EICAR
    assert not (settings.MEDIA_ROOT / record.storage_key.removeprefix("quarantine/")).exists()
    assert any(
        "VIRUS FOUND" in r.message and "Eicar-Test-Signature" in r.message for r in caplog.records
    )
    response = uploader.get(f"{URL}{body['id']}/download/")
    assert response.status_code == 409
    assert response.json()["scan_status"] == ScanStatus.INFECTED
    assert uploader.get(f"{URL}{body['id']}/").json()["scan_status"] == ScanStatus.INFECTED
    # Even with scanning switched off later, a quarantined file is never served.
    settings.FILES_SCANNER = ""
    assert uploader.get(f"{URL}{body['id']}/download/").status_code == 409


def test_unreachable_scanner_retries_then_marks_failed(
    uploader, settings, django_capture_on_commit_callbacks, replay_retries
):
    settings.FILES_SCANNER = BROKEN
    BrokenScanner.calls = 0
    with django_capture_on_commit_callbacks(execute=True):
        body = upload(uploader, "a.pdf", samples.pdf()).json()
    assert BrokenScanner.calls == tasks.SCAN_MAX_RETRIES + 1
    assert FileStorage.objects.get(pk=body["id"]).scan_status == ScanStatus.FAILED
    assert uploader.get(f"{URL}{body['id']}/download/").status_code == 409


def test_scan_task_ignores_deleted_file(scanning, org):
    result = tasks.scan_file.apply(kwargs={"file_id": 123456, "organization_id": org.pk})
    assert result.get() is None


# --- clamd protocol -------------------------------------------------------------------------


class FakeClamd:
    """Speaks clamd's PING and INSTREAM on a free loopback port (threads, stopped by the test)."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                self._handle(conn.makefile("rb"), conn)

    def _handle(self, reader, conn):
        command = b""
        while not command.endswith(b"\0"):
            command += reader.read(1)
        if command == b"zPING\0":
            conn.sendall(b"PONG\0")
            return
        assert command == b"zINSTREAM\0"
        data = b""
        while True:
            (length,) = struct.unpack("!L", reader.read(4))
            if not length:
                break
            data += reader.read(length)
        self.received.append(data)
        if samples.EICAR in data:
            conn.sendall(b"stream: Eicar-Signature FOUND\0")
        elif data == b"too big":
            conn.sendall(b"INSTREAM size limit exceeded. ERROR\0")
        else:
            conn.sendall(b"stream: OK\0")

    def close(self):
        self.server.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
        self.server.close()
        self.thread.join(timeout=2)


@pytest.fixture
def clamd():
    server = FakeClamd()
    yield server
    server.close()


@pytest.mark.integration
def test_clamd_instream_protocol(clamd):
    import io

    scanner = ClamdScanner(address=f"tcp://127.0.0.1:{clamd.port}", timeout=5)
    scanner.ping()
    big = b"A" * 200_000  # several INSTREAM chunks
    assert scanner.scan(io.BytesIO(big)) == ScanResult(clean=True)
    assert clamd.received[-1] == big
    assert scanner.scan(io.BytesIO(b"xx" + samples.EICAR)) == ScanResult(
        clean=False, signature="Eicar-Signature"
    )
    with pytest.raises(ScannerError, match="size limit"):
        scanner.scan(io.BytesIO(b"too big"))


@pytest.mark.integration
def test_clamd_configured_end_to_end(
    clamd, uploader, settings, django_capture_on_commit_callbacks, readiness_probe
):
    settings.FILES_SCANNER = "clamd"
    settings.CLAMD_ADDRESS = f"tcp://127.0.0.1:{clamd.port}"
    with django_capture_on_commit_callbacks(execute=True):
        clean = upload(uploader, "a.pdf", samples.pdf()).json()
        infected = upload(uploader, "e.txt", samples.EICAR).json()
    assert FileStorage.objects.get(pk=clean["id"]).scan_status == ScanStatus.CLEAN
    assert FileStorage.objects.get(pk=infected["id"]).scan_status == ScanStatus.INFECTED
    health = readiness_probe().json()["components"]["virus_scanner"]
    assert health["status"] == "ok" and health["scanner"] == "clamd"


def test_clamd_unreachable_is_scanner_error():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # bound, not listening: connection refused
        scanner = ClamdScanner(address=f"tcp://127.0.0.1:{port}", timeout=1)
        with pytest.raises(ScannerError, match="unreachable"):
            scanner.ping()
    with pytest.raises(ScannerError, match="CLAMD_ADDRESS"):
        ClamdScanner(address="http://x").ping()


def test_scan_files_command_rescans_unscanned(
    uploader, settings, django_capture_on_commit_callbacks
):
    from io import StringIO

    from django.core.management import CommandError, call_command

    ids = [upload(uploader, f"{i}.pdf", samples.pdf()).json()["id"] for i in range(2)]
    infected = upload(uploader, "e.txt", samples.EICAR).json()["id"]
    with pytest.raises(CommandError, match="FILES_SCANNER"):
        call_command("scan_files")
    settings.FILES_SCANNER = FAKE
    out = StringIO()
    call_command("scan_files", stdout=out)
    assert "3 files with status not_scanned, failed would be scanned" in out.getvalue()
    assert set(FileStorage.objects.values_list("scan_status", flat=True)) == {"not_scanned"}
    with django_capture_on_commit_callbacks(execute=True):
        call_command("scan_files", "--apply", stdout=StringIO())
    statuses = dict(FileStorage.objects.values_list("id", "scan_status"))
    assert [statuses[i] for i in ids] == [ScanStatus.CLEAN, ScanStatus.CLEAN]
    assert statuses[infected] == ScanStatus.INFECTED

"""Pluggable virus scanning. Off by default (``FILES_SCANNER=""``).

A scanner implements ``Scanner.scan(stream) -> ScanResult`` and raises ``ScannerError`` when it
can't give an answer (daemon down, timeout): the task then retries instead of guessing.
``FILES_SCANNER=clamd`` selects ``ClamdScanner``; any other value is a dotted path to a class.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import IO
from urllib.parse import urlparse

from django.conf import settings
from django.utils.module_loading import import_string

__all__ = [
    "ClamdScanner",
    "ScanResult",
    "Scanner",
    "ScannerError",
    "get_scanner",
    "scanning_enabled",
]

CHUNK = 64 * 1024


@dataclass(frozen=True)
class ScanResult:
    clean: bool
    signature: str = ""


class ScannerError(Exception):
    """The scanner could not scan (unreachable, timed out, refused the stream)."""


class Scanner:
    """The interface: scan a readable binary stream."""

    name = "scanner"

    def scan(self, stream: IO[bytes]) -> ScanResult:
        raise NotImplementedError

    def ping(self) -> None:
        """Raise ``ScannerError`` unless the scanner is ready (used by readiness)."""


class ClamdScanner(Scanner):
    """ClamAV's daemon over TCP or a Unix socket, with the ``INSTREAM`` command.

    Protocol: send ``zINSTREAM\\0``, then chunks each prefixed with their length as a 4-byte
    big-endian integer, then a zero length; clamd answers ``stream: OK``,
    ``stream: <signature> FOUND`` or ``... ERROR`` (e.g. over its ``StreamMaxLength``).
    """

    name = "clamd"

    def __init__(self, address: str | None = None, timeout: float | None = None):
        self.address = address or settings.CLAMD_ADDRESS
        self.timeout = timeout if timeout is not None else settings.CLAMD_TIMEOUT

    def _connect(self) -> socket.socket:
        url = urlparse(self.address)
        try:
            if url.scheme == "unix":
                sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                sock.settimeout(self.timeout)
                sock.connect(url.path)
            elif url.scheme == "tcp":
                sock = socket.create_connection((url.hostname, url.port or 3310), self.timeout)
            else:
                raise ScannerError(
                    f"CLAMD_ADDRESS={self.address!r}: use tcp://host:port or unix:///path"
                )
        except OSError as exc:
            raise ScannerError(f"clamd at {self.address} is unreachable: {exc}") from exc
        return sock

    def _command(self, command: bytes, stream: IO[bytes] | None = None) -> str:
        with self._connect() as sock:
            try:
                sock.sendall(b"z" + command + b"\0")
                if stream is not None:
                    while chunk := stream.read(CHUNK):
                        sock.sendall(struct.pack("!L", len(chunk)) + chunk)
                    sock.sendall(struct.pack("!L", 0))
                reply = b""
                while not reply.endswith(b"\0"):
                    data = sock.recv(4096)
                    if not data:
                        break
                    reply += data
            except OSError as exc:
                raise ScannerError(f"clamd at {self.address} failed: {exc}") from exc
        return reply.rstrip(b"\0").decode("utf-8", "replace").strip()

    def ping(self) -> None:
        reply = self._command(b"PING")
        if reply != "PONG":
            raise ScannerError(f"clamd answered {reply!r} to PING")

    def scan(self, stream: IO[bytes]) -> ScanResult:
        reply = self._command(b"INSTREAM", stream)
        if reply.endswith("FOUND"):
            signature = reply.removeprefix("stream:").removesuffix("FOUND").strip()
            return ScanResult(clean=False, signature=signature)
        if reply.endswith("OK"):
            return ScanResult(clean=True)
        raise ScannerError(f"clamd could not scan the file: {reply or 'no answer'}")


def scanning_enabled() -> bool:
    return bool(settings.FILES_SCANNER)


def get_scanner() -> Scanner | None:
    """The configured scanner, or None when scanning is off."""
    configured = settings.FILES_SCANNER
    if not configured:
        return None
    if configured == "clamd":
        return ClamdScanner()
    return import_string(configured)()

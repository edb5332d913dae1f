"""What an upload really is: its sanitised name and the type detected from its content.

The client's ``Content-Type`` header and the file's extension are never trusted for the type:
libmagic reads the bytes; two cases libmagic can't settle alone are refined here:

- OOXML (DOCX/XLSX/...) are ZIP archives: the main part declared in ``[Content_Types].xml``
  (``word/document.xml``, ``xl/workbook.xml``) tells them apart from a plain ZIP or a
  macro-enabled variant.
- CSV is plain text that parses as a table: several rows with one consistent column count.
"""

from __future__ import annotations

import csv
import mimetypes
import os
import re
import unicodedata
import zipfile
from typing import IO

import magic

__all__ = ["DOCX", "XLSX", "detect_content_type", "extension_mismatch", "sanitize_file_name"]

MAX_NAME_LENGTH = 255
SNIFF_BYTES = 64 * 1024
DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
ZIP_TYPES = {"application/zip", "application/x-zip-compressed", "application/octet-stream"}
# Main-part content types in [Content_Types].xml → the document's MIME type.
OOXML_MAIN_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml": DOCX,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml": XLSX,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation.main+xml": PPTX,
    "application/vnd.ms-word.document.macroEnabled.main+xml": (
        "application/vnd.ms-word.document.macroEnabled.12"
    ),
    "application/vnd.ms-excel.sheet.macroEnabled.main+xml": "application/vnd.ms-excel.sheet.macroEnabled.12",
}
_CONTENT_TYPE_ATTR = re.compile(rb'ContentType="([^"]+)"')
TEXT_FAMILY = {"text/plain", "text/csv"}
CSV_DELIMITERS = ",;\t|"


def sanitize_file_name(name: str) -> str:
    """The last path component without control/format characters, at most 255 characters.

    Separators of both kinds are path components (``..\\..\\evil.exe`` → ``evil.exe``); Unicode
    categories Cc/Cf (NUL, newlines, bidi overrides that fake an extension) are dropped. A name
    that ends up empty (or ``.``/``..``) becomes ``file``. Truncation keeps the extension.
    """
    name = unicodedata.normalize("NFC", name or "")
    name = re.split(r"[/\\]", name)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name or name in {".", ".."}:
        return "file"
    if len(name) > MAX_NAME_LENGTH:
        stem, ext = os.path.splitext(name)
        ext = ext if len(ext) <= 16 else ""
        name = stem[: MAX_NAME_LENGTH - len(ext)] + ext
    return name


def detect_content_type(file: IO[bytes]) -> str:
    """The MIME type of ``file``'s content (seekable; its position is restored to 0)."""
    file.seek(0)
    head = file.read(SNIFF_BYTES)
    file.seek(0)
    detected = magic.from_buffer(head, mime=True)
    if detected in ZIP_TYPES or detected.startswith("application/vnd.openxmlformats"):
        detected = _ooxml_type(file) or detected
    elif detected in TEXT_FAMILY:
        detected = "text/csv" if _looks_like_csv(head) else "text/plain"
    file.seek(0)
    return detected


def _ooxml_type(file: IO[bytes]) -> str | None:
    try:
        with zipfile.ZipFile(file) as archive:
            try:
                info = archive.getinfo("[Content_Types].xml")
            except KeyError:
                return None
            if info.file_size > 1024 * 1024:  # a real one is a few KB; don't inflate a bomb
                return None
            declared = archive.read(info)
            names = set(archive.namelist())
    except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
        return None
    for content_type in _CONTENT_TYPE_ATTR.findall(declared):
        found = OOXML_MAIN_PARTS.get(content_type.decode("ascii", "replace"))
        if found == DOCX and "word/document.xml" not in names:
            continue
        if found == XLSX and "xl/workbook.xml" not in names:
            continue
        if found:
            return found
    return None


def _looks_like_csv(head: bytes) -> bool:
    """At least two rows with the same number (>= 2) of fields for one delimiter."""
    text = head.decode("utf-8", errors="replace")
    lines = text.splitlines()
    if len(head) == SNIFF_BYTES and len(lines) > 1:
        lines = lines[:-1]  # the sample may end in the middle of a row
    lines = [line for line in lines if line.strip()][:50]
    if len(lines) < 2:
        return False
    for delimiter in CSV_DELIMITERS:
        try:
            widths = {len(row) for row in csv.reader(lines, delimiter=delimiter)}
        except csv.Error:
            continue
        if len(widths) == 1 and widths.pop() >= 2:
            return True
    return False


def extension_mismatch(name: str, detected: str) -> str | None:
    """The type the name's extension claims when it contradicts the content, else None.

    A missing or unknown extension is no claim. Text is text: a detected CSV/plain text file may
    carry any ``text/*`` extension (``.txt``, ``.csv``, ``.md``, ``.log``).
    """
    claimed, _ = mimetypes.guess_type(name, strict=False)
    if claimed is None or claimed == detected:
        return None
    if detected in TEXT_FAMILY and claimed.startswith("text/"):
        return None
    return claimed

import io

import pytest

from api.v1.files.validation import (
    detect_content_type,
    extension_mismatch,
    sanitize_file_name,
)

from . import samples


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("report.pdf", "report.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\me\\Desktop\\cv.docx", "cv.docx"),
        ("in\x00voice\r\n.pdf", "invoice.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # right-to-left override faking ".jpg"
        ("..", "file"),
        ("", "file"),
        ("/", "file"),
        ("  .hidden  ", "hidden"),
        ("Übersicht.csv", "Übersicht.csv"),
    ],
)
def test_sanitize_file_name(raw, clean):
    assert sanitize_file_name(raw) == clean


def test_sanitize_cuts_to_255_keeping_extension():
    name = sanitize_file_name("x" * 1000 + ".xlsx")
    assert len(name) == 255 and name.endswith(".xlsx")
    assert len(sanitize_file_name("y" * 1000)) == 255


def test_csv_needs_consistent_columns():
    assert detect_content_type(io.BytesIO(b"a;b;c\n1;2;3\n")) == "text/csv"
    assert detect_content_type(io.BytesIO(b"a\tb\n1\t2\n")) == "text/csv"
    assert detect_content_type(io.BytesIO(b"just one line, with a comma\n")) == "text/plain"
    prose = b"Hello, world.\nNo commas here\nOne, two, three.\n"
    assert detect_content_type(io.BytesIO(prose)) == "text/plain"


def test_csv_sample_cut_mid_row_still_csv():
    big = b"id,name\n" + b"".join(b"%d,item %d\n" % (i, i) for i in range(20000))
    assert detect_content_type(io.BytesIO(big)) == "text/csv"


def test_corrupt_zip_is_plain_zip_or_binary():
    broken = samples.docx()[:200]
    assert detect_content_type(io.BytesIO(broken)) != (
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    )


def test_extension_mismatch():
    assert extension_mismatch("a.pdf", "image/png") == "application/pdf"
    assert extension_mismatch("a.png", "image/png") is None
    assert extension_mismatch("a", "image/png") is None
    assert extension_mismatch("a.weird-ext", "image/png") is None
    assert extension_mismatch("a.csv", "text/plain") is None
    assert extension_mismatch("notes.md", "text/plain") is None
    assert extension_mismatch("photo.jpg.exe", "image/jpeg") is not None  # .exe: a claim
    assert extension_mismatch("page.html", "image/png") == "text/html"

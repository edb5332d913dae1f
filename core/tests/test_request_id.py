"""X-Request-ID on every response, and on every log line of the request (issue 12)."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.test import Client

from core.requestid import RequestIdFilter, get_request_id

pytestmark = pytest.mark.django_db


@contextmanager
def console_output():
    """What the configured console handler (settings.LOGGING) writes, for the duration."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, RequestIdFilter) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    try:
        yield stream
    finally:
        handler.setStream(previous)


def test_a_new_id_when_the_client_sends_none():
    first = Client().get("/health/live/")["X-Request-ID"]
    second = Client().get("/health/live/")["X-Request-ID"]
    assert len(first) == 32 and int(first, 16) is not None
    assert first != second


def test_the_clients_well_formed_id_is_kept():
    response = Client().get("/api/v1/me/", HTTP_X_REQUEST_ID="req-1234abcd.client:7")
    assert response.status_code == 401
    assert response["X-Request-ID"] == "req-1234abcd.client:7"


@pytest.mark.parametrize(
    "bad", ["short", "x" * 65, "has space in it", "evil\u00e9unicode", "<script>alert(1)</script>"]
)
def test_a_malformed_id_is_replaced(bad):
    response = Client().get("/health/live/", HTTP_X_REQUEST_ID=bad)
    assert response["X-Request-ID"] != bad
    assert len(response["X-Request-ID"]) == 32


def test_every_log_line_of_the_request_carries_its_id(member_client, org):
    client, _ = member_client(org)
    with console_output() as out:
        # a 404 is logged by django.request after the middleware chain returned
        response = client.get("/api/v1/products/999999/", HTTP_X_REQUEST_ID="trace-0000aaaa")
        assert response.status_code == 404
        logging.getLogger("after").warning("outside any request")
    lines = out.getvalue().splitlines()
    assert any("[trace-0000aaaa]" in line and "Not Found" in line for line in lines), lines
    assert any("[-]" in line and "outside any request" in line for line in lines), lines
    assert get_request_id() is None  # request_finished cleared it


def test_error_responses_carry_it_too():
    response = Client().get("/api/v1/nope/", HTTP_X_REQUEST_ID="abcdefgh-1")
    assert response.status_code == 404 and response["X-Request-ID"] == "abcdefgh-1"


def test_log_format_json_is_one_object_per_line_in_manage_py():
    """LOG_FORMAT=json in a real manage.py process: each line parses, with the usual fields."""
    code = "import logging; logging.getLogger('erp.test').warning('hello %s', 'json')"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", code],
        cwd=settings.BASE_DIR,
        env={**os.environ, "LOG_FORMAT": "json",
             "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    hello = next(r for r in records if r["message"] == "hello json")
    assert hello["level"] == "WARNING" and hello["logger"] == "erp.test"
    assert hello["request_id"] == "-" and "time" in hello


def test_log_format_is_checked():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=settings.BASE_DIR,
        env={**os.environ, "LOG_FORMAT": "xml",
             "DJANGO_SETTINGS_MODULE": "config.settings.test"},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "LOG_FORMAT must be 'plain' or 'json'" in result.stderr

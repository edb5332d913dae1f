"""schemathesis (every check) against a real gunicorn serving the app: 0 server errors, 0
responses that differ from the schema (status, content type, body), nothing schema-valid
refused and nothing schema-invalid accepted beyond the business rules listed in
schemathesis.toml. Bounded: a fixed seed and --max-examples."""

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from api.v1.base_models.organization.tests.factories import OrganizationFactory
from api.v1.catalog.products.tests.factories import ProductFactory
from conftest import add_member
from core.celery_app.testing import worker_database_url
from core.testing.livestack import LiveGunicorn, app_env

ROOT = Path(__file__).resolve().parents[2]
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "8"))
pytestmark = [
    pytest.mark.integration,
    pytest.mark.xdist_group("schemathesis"),
    pytest.mark.django_db(transaction=True),
]


def _post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path):
    org = OrganizationFactory(slug="acme")
    other = OrganizationFactory(slug="globex")
    owner = add_member(org, "owner")
    owner.set_password("schemathesis-pass-1")
    owner.save()
    ProductFactory.create_batch(3, organization=org, stock=10_000)
    ProductFactory(organization=other)  # another organization's: must stay 404

    # LocMem caches are per process: one gunicorn worker stays coherent.
    web = LiveGunicorn(
        app_env(worker_database_url(), MEDIA_ROOT=str(tmp_path / "media")), tmp_path, workers=1
    )
    base = web.base
    try:
        web.wait_for_log("Booting worker")
        token = _post_json(
            f"{base}/api/v1/auth/token/",
            {"username": owner.username, "password": "schemathesis-pass-1"},
        )["token"]
        run = subprocess.run(
            [
                str(Path(sys.executable).with_name("schemathesis")),
                "--no-color",
                "run",
                f"{base}/api/v1/schema/?format=json",
                "--checks",
                "all",
                "--header",
                f"Authorization: Token {token}",
                "--header",
                "X-Organization: acme",
                "--max-examples",
                str(MAX_EXAMPLES),
                "--seed",
                "20261207",
                "--workers",
                "1",
                "--request-timeout",
                "60",
            ],
            cwd=ROOT,  # schemathesis.toml
            capture_output=True,
            text=True,
            timeout=1500,
        )
    finally:
        web.stop()
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-12000:]
    assert "Server error" not in output and "ST101" not in output

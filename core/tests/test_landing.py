"""`/`, `/api/v1/`, Redoc, the admin's "View site", and the schema generated once per process."""

import os
import re
import urllib.request
from pathlib import Path

import pytest

from core.api import schema
from core.testing.livestack import LiveGunicorn

ROOT = Path(__file__).resolve().parents[2]
LINKED = ["/api/v1/docs/", "/api/v1/redoc/", "/api/v1/schema/", "/admin/", "/health/live/"]
LINKED += ["/health/ready/", "/metrics"]


def test_home_page_links_docs_admin_and_health(client):
    response = client.get("/")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    for url in LINKED:
        assert f'href="{url}"' in html, url


def test_api_root_lists_the_same_links_as_json(client):
    for path, headers in [("/api/v1/", {}), ("/", {"HTTP_ACCEPT": "application/json"})]:
        response = client.get(path, **headers)
        assert response.status_code == 200 and response["Content-Type"] == "application/json"
        links = response.json()["links"]
        assert {url.removeprefix("http://testserver") for url in links.values()} >= set(LINKED)


def test_redoc_is_served(client):
    response = client.get("/api/v1/redoc/")
    assert response.status_code == 200
    assert (
        "redoc" in response.content.decode().lower()
        and "/api/v1/schema/" in response.content.decode()
    )


@pytest.mark.django_db
def test_admin_view_site_leads_to_the_home_page(admin_client):
    html = admin_client.get("/admin/").content.decode()
    assert re.search(r'<a href="/">\s*View site\s*</a>', html), html[:2000]
    assert admin_client.get("/").status_code == 200


def test_schema_is_generated_once_per_process(client):
    schema.clear()
    before = schema.generated
    first = client.get("/api/v1/schema/?format=json")
    assert first.status_code == 200 and "paths" in first.json()
    for _ in range(3):
        assert client.get("/api/v1/schema/?format=json").json() == first.json()
    assert client.get("/api/v1/schema/").status_code == 200  # YAML: same cached schema
    assert schema.generated == before + 1


@pytest.mark.integration
def test_gunicorn_generates_the_schema_once_in_the_master(tmp_path):
    """Two real gunicorn workers serve the schema many times: one generation, in the master
    before the fork (config/gunicorn.py when_ready), none in the workers."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.dev",
        "LOG_LEVEL": "INFO",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "PYTHONUNBUFFERED": "1",
    }
    web = LiveGunicorn(env, tmp_path, workers=2)
    try:
        web.wait_for_log("Booting worker", count=2)
        for _ in range(8):  # the sync workers take turns: both serve some of these
            with urllib.request.urlopen(
                f"{web.base}/api/v1/schema/?format=json", timeout=60
            ) as response:
                assert response.status == 200 and b'"paths"' in response.read()
    finally:
        web.stop()
    text = web.log.read_text()
    assert text.count("generated the OpenAPI schema") == 1, text
    assert text.index("generated the OpenAPI schema") < text.index("Booting worker"), text

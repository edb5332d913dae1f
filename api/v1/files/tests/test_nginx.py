"""The shipped nginx config (deploy/nginx-files.conf) for real: nginx in front of the live app,
downloads served by X-Accel-Redirect from the `internal` location, which clients can't reach."""

import hashlib
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from knox.models import AuthToken

from api.v1.files.models import FileStorage
from core.testing.ports import free_port

from . import samples

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
SAMPLE = Path(__file__).resolve().parents[4] / "deploy" / "nginx-files.conf"

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        NGINX is None, reason="nginx is not installed (apt-get install nginx-light)"
    ),
]


def render_config(tmp: Path, port: int, upstream: str, media: Path) -> Path:
    site = SAMPLE.read_text()
    site = site.replace("server 127.0.0.1:8000;", f"server {upstream};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{port};")
    site = site.replace("alias /var/lib/erp/media/;", f"alias {media}/;")
    assert f"alias {media}/;" in site and f"server {upstream};" in site
    temp = {name: tmp / name for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    for path in temp.values():
        path.mkdir()
    conf = tmp / "nginx.conf"
    conf.write_text(
        f"""
user root;
daemon off;
master_process off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log off;
    default_type application/octet-stream;
    client_body_temp_path {temp["body"]};
    proxy_temp_path {temp["proxy"]};
    fastcgi_temp_path {temp["fastcgi"]};
    uwsgi_temp_path {temp["uwsgi"]};
    scgi_temp_path {temp["scgi"]};
{site}
}}
"""
    )
    return conf


@pytest.fixture
def nginx(live_server, settings, tmp_path):
    settings.FILES_X_ACCEL_REDIRECT_PREFIX = "/protected-media/"
    settings.ALLOWED_HOSTS = ["*"]
    media = Path(settings.MEDIA_ROOT)
    media.mkdir(parents=True, exist_ok=True)
    port = free_port()
    upstream = live_server.url.removeprefix("http://")
    conf = (
        render_config(tmp_path / "nginx", port, upstream, media)
        if ((tmp_path / "nginx").mkdir() or True)
        else None
    )
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp_path / "nginx")])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health/live/", timeout=1)
            break
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def fetch(url, token=None):
    request = urllib.request.Request(
        url, headers={"Authorization": f"Token {token}"} if token else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


def test_download_served_by_nginx_after_permission_check(nginx, org, member_client, other_org):
    client, user = member_client(org, "viewer")
    owner, _ = member_client(org, "owner")
    content = samples.pdf()
    file_id = owner.post(
        "/api/v1/files/", {"file": SimpleUploadedFile("a.pdf", content)}, format="multipart"
    ).json()["id"]
    record = FileStorage.objects.get(pk=file_id)
    token = AuthToken.objects.create(user=user)[1]

    status, headers, body = fetch(f"{nginx}/api/v1/files/{file_id}/download/", token)
    assert status == 200
    assert hashlib.sha256(body).hexdigest() == hashlib.sha256(content).hexdigest()
    assert headers["Content-Type"] == "application/pdf"
    assert headers["Content-Disposition"] == 'attachment; filename="a.pdf"'
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Accel-Redirect" not in headers  # nginx consumed it

    # The internal location and the media root are unreachable from outside.
    assert fetch(f"{nginx}/protected-media/{record.storage_key}")[0] == 404
    # (The test live server serves MEDIA_URL itself, gunicorn doesn't: ask the app directly.)
    assert client.get(f"/media/{record.storage_key}").status_code == 404
    # No token, or another organization's member: no bytes.
    assert fetch(f"{nginx}/api/v1/files/{file_id}/download/")[0] == 401
    _, outsider = member_client(other_org, "owner")
    outsider_token = AuthToken.objects.create(user=outsider)[1]
    assert fetch(f"{nginx}/api/v1/files/{file_id}/download/", outsider_token)[0] in (403, 404)

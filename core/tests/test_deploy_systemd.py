"""The systemd units (deploy/systemd) and the nginx site (deploy/nginx/erp.conf).

``systemd-analyze verify`` parses each unit the way systemd would load it (unknown keys, bad
values, missing executables are errors; any warning fails the test too). The units name the
install paths of docs/deploy.md (/opt/erp, /etc/erp/erp.env); the test points them at this
checkout so that the executables they start exist. ``nginx -t`` checks the site inside a
minimal nginx.conf with a throwaway self-signed certificate.
"""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
SITE = ROOT / "deploy" / "nginx" / "erp.conf"
SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
OPENSSL = shutil.which("openssl")
SERVICES = ("erp-web.service", "erp-worker@.service", "erp-beat.service")


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str
    parser.read(UNITS / name)
    return parser


def rendered_units(tmp_path: Path) -> Path:
    (tmp_path / "erp.env").write_text("DJANGO_SETTINGS_MODULE=config.settings.prod\n")
    for path in UNITS.glob("erp-*"):
        text = path.read_text().replace("/opt/erp", str(ROOT))
        text = text.replace("/etc/erp/erp.env", str(tmp_path / "erp.env"))
        (tmp_path / path.name).write_text(text)
    # A template is verified through an instance of it.
    shutil.copy(tmp_path / "erp-worker@.service", tmp_path / "erp-worker@exports.service")
    return tmp_path


def verify(directory: Path, *names: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", *(f"./{n}" for n in names)],
        cwd=directory, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze not installed (Debian: systemd)"
)
def test_units_pass_systemd_analyze_verify(tmp_path):
    directory = rendered_units(tmp_path)
    names = ["erp-web.socket", "erp-web.service", "erp-worker@exports.service", "erp-beat.service"]
    result = verify(directory, *names)
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr

    # The check can fail: a unit starting something that isn't there is an error.
    broken = directory / "erp-beat.service"
    broken.write_text(broken.read_text().replace(".venv/bin/celery", ".venv/bin/no-such-celery"))
    result = verify(directory, "erp-beat.service")
    assert result.returncode != 0 and "no-such-celery" in result.stderr


def test_services_restart_on_failure_as_a_dedicated_user_with_a_read_only_system():
    for name in SERVICES:
        service = unit(name)["Service"]
        assert service["Restart"] == "on-failure", name
        assert service["User"] == "erp" and service["Group"] == "erp", name
        assert service["EnvironmentFile"] == "/etc/erp/erp.env", name
        assert service["ProtectSystem"] == "strict", name
        assert service["NoNewPrivileges"] == "true", name
    assert "/var/lib/erp/media" in unit("erp-web.service")["Service"]["ReadWritePaths"]
    assert "/var/backups/erp" in unit("erp-worker@.service")["Service"]["ReadWritePaths"]
    assert "erp " in (UNITS / "erp.sysusers.conf").read_text()


def test_worker_template_takes_the_queue_and_waits_for_the_longest_soft_limit(settings):
    service = unit("erp-worker@.service")["Service"]
    assert "-Q %i" in service["ExecStart"] and "--max-tasks-per-child=" in service["ExecStart"]
    stop = int(service["TimeoutStopSec"])
    assert stop > settings.CELERY_TASK_SOFT_TIME_LIMIT
    listed = re.search(r"Queues \(.*\): (.*)\.", (UNITS / "erp-worker@.service").read_text())
    assert set(listed.group(1).split(", ")) == {q.name for q in settings.CELERY_TASK_QUEUES}


def test_web_is_socket_activated_and_beat_uses_the_lease():
    socket = unit("erp-web.socket")["Socket"]
    assert socket["ListenStream"] == "/run/erp/gunicorn.sock"
    assert "unix:/run/erp/gunicorn.sock" in SITE.read_text()
    assert unit("erp-web.service")["Unit"]["Requires"] == "erp-web.socket"
    assert (
        "core.celery_app.beat:DatabaseScheduler" in unit("erp-beat.service")["Service"]["ExecStart"]
    )


@pytest.mark.skipif(NGINX is None or OPENSSL is None, reason="nginx/openssl not installed")
def test_nginx_site_passes_nginx_t(tmp_path):
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [OPENSSL, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=erp.example.com", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    site = SITE.read_text()
    site = site.replace("/etc/ssl/erp/fullchain.pem", str(cert))
    site = site.replace("/etc/ssl/erp/privkey.pem", str(key))
    assert str(cert) in site and "location /protected-media/" in site and "internal;" in site

    def check(site_text: str) -> subprocess.CompletedProcess:
        (tmp_path / "site.conf").write_text(site_text)
        (tmp_path / "nginx.conf").write_text(
            f"pid {tmp_path}/nginx.pid;\nerror_log stderr;\nevents {{}}\n"
            f"http {{\n    include {tmp_path}/site.conf;\n}}\n"
        )
        return subprocess.run(
            [NGINX, "-t", "-q", "-c", str(tmp_path / "nginx.conf"), "-p", str(tmp_path)],
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip

    result = check(site)
    assert result.returncode == 0, result.stderr
    result = check(site.replace("internal;", "internal yes;"))  # the check can fail
    assert result.returncode != 0

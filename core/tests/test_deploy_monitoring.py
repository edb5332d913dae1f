"""deploy/prometheus/prometheus.yml: the sample scrape config of docs/deploy.md "Monitoring"."""

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.urls import resolve

SAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "prometheus" / "prometheus.yml"


def test_scrapes_the_app_and_the_db_host_exporters():
    config = yaml.safe_load(SAMPLE.read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert set(jobs) == {"erp", "postgres", "node", "redis"}
    erp = jobs["erp"]
    assert resolve(erp["metrics_path"]).url_name == "metrics"  # the app's /metrics
    assert erp["authorization"]["type"] == "Bearer"  # METRICS_TOKEN
    ports = {
        name: {t.rsplit(":", 1)[1] for c in job["static_configs"] for t in c["targets"]}
        for name, job in jobs.items()
    }
    assert (
        ports["postgres"] == {"9187"} and ports["node"] == {"9100"} and ports["redis"] == {"9121"}
    )


@pytest.mark.skipif(
    shutil.which("promtool") is None, reason="promtool not installed (Debian: prometheus)"
)
def test_promtool_accepts_it(tmp_path):
    token = tmp_path / "token"
    token.write_text("x")
    config = tmp_path / "prometheus.yml"
    config.write_text(SAMPLE.read_text().replace("/etc/prometheus/erp-metrics-token", str(token)))
    result = subprocess.run(
        ["promtool", "check", "config", str(config)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr

"""The Kubernetes manifests (deploy/k8s): rendered with kustomize, validated against the
Kubernetes schemas offline, and checked against the settings they must match.

- ``kubectl kustomize`` (kustomize built into kubectl, Debian package ``kubectl``, installed by
  scripts/install_test_tools.sh) renders the base and the prod overlay; without it those tests
  skip and say so, and the base files are still validated one by one.
- kubernetes-validate (PyPI, dev group) bundles the OpenAPI schemas of each Kubernetes release:
  every rendered object is validated with ``strict=True`` (unknown fields fail) for the release
  pinned below.
- Every variable the settings read (recorded while importing ``config.settings.prod``:
  deploy/record_env_reads.py) and every variable of .env.example is in the ConfigMap or the
  Secret, nothing secret is in the ConfigMap, and ConfigMap + Secret make a prod configuration
  that imports.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
K8S = ROOT / "deploy" / "k8s"
KUBERNETES_VERSION = "1.32.0"
KUBECTL = shutil.which("kubectl")


def _kustomize_major() -> int:
    """Major version of kubectl's built-in kustomize (0: no kubectl)."""
    if KUBECTL is None:
        return 0
    out = subprocess.run(
        [KUBECTL, "version", "--client"], capture_output=True, text=True, timeout=30
    ).stdout
    match = re.search(r"Kustomize Version: v(\d+)", out)
    return int(match.group(1)) if match else 0


needs_kustomize = pytest.mark.skipif(
    _kustomize_major() < 5,
    reason="no kubectl with kustomize >= 5 (kubectl >= 1.27): scripts/install_test_tools.sh "
    "installs Debian's kubernetes-client, whose older kustomize can't render `labels`/`patches`; "
    "the base files are still validated one by one",
)
# Variable names that hold credentials (or URLs carrying them): Secret only.
SECRET_NAME = re.compile(
    r"SECRET|PASSWORD|_TOKEN$|_KEY$|ACCESS_KEY|(DATABASE|REDIS|BROKER|BACKUP)\w*_URL$|RESULT_BACKEND$"
)
# In .env.example for the test suite only: not part of a deployment.
NOT_DEPLOYED = {"TEST_DATABASE_URL"}


@cache
def render(path: str) -> tuple[dict, ...]:
    result = subprocess.run(
        [KUBECTL, "kustomize", str(K8S / path)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, f"kustomize {path} failed:\n{result.stderr}"
    return tuple(doc for doc in yaml.safe_load_all(result.stdout) if doc)


def objects(path: str, kind: str) -> dict[str, dict]:
    return {doc["metadata"]["name"]: doc for doc in render(path) if doc["kind"] == kind}


def base_files() -> list[dict]:
    docs = []
    for file in sorted((K8S / "base").glob("*.yaml")):
        if file.name != "kustomization.yaml":
            docs += [doc for doc in yaml.safe_load_all(file.read_text()) if doc]
    return docs


def validate(doc: dict) -> None:
    import kubernetes_validate

    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        where = "/".join(str(p) for p in exc.path)
        raise AssertionError(
            f"{doc['kind']}/{doc['metadata']['name']}: {exc.message} at {where}"
        ) from None


def env_example() -> set[str]:
    text = (ROOT / ".env.example").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]+)=", text, re.M)) - NOT_DEPLOYED


def config_and_secret(docs) -> tuple[dict, dict]:
    (config,) = [
        d for d in docs if d["kind"] == "ConfigMap" and d["metadata"]["name"] == "erp-config"
    ]
    (secret,) = [
        d for d in docs if d["kind"] == "Secret" and d["metadata"]["name"] == "erp-secrets"
    ]
    return config["data"], secret["stringData"]


def pod_specs(docs) -> dict[str, dict]:
    specs = {}
    for doc in docs:
        spec = doc.get("spec", {})
        if doc["kind"] == "CronJob":
            spec = spec["jobTemplate"]["spec"]
        if "template" in spec:
            specs[f"{doc['kind']}/{doc['metadata']['name']}"] = spec["template"]["spec"]
    return specs


# --- schema validation ---------------------------------------------------------------------


def test_every_base_file_is_valid_on_its_own():
    docs = base_files()
    assert {d["kind"] for d in docs} >= {
        "Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler", "Job",
        "CronJob", "ConfigMap", "Secret", "NetworkPolicy", "PersistentVolumeClaim",
    }  # fmt: skip
    for doc in docs:
        validate(doc)


@needs_kustomize
@pytest.mark.parametrize("path", ["base", "overlays/prod"])
def test_rendered_manifests_are_valid(path):
    docs = render(path)
    assert len(docs) >= 15
    for doc in docs:
        validate(doc)


def test_the_validator_rejects_a_broken_manifest():
    """The check can fail: an unknown field and a wrong type are caught."""
    deployment = next(d for d in base_files() if d["kind"] == "Deployment")
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["replicas"] = "two"
    with pytest.raises(AssertionError, match="replicas|two"):
        validate(broken)
    broken = json.loads(json.dumps(deployment))
    broken["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(AssertionError, match="livenessprobe"):
        validate(broken)


@needs_kustomize
def test_prod_overlay_sets_namespace_image_and_sizes():
    docs = render("overlays/prod")
    assert {d["metadata"].get("namespace") for d in docs if d["kind"] != "Namespace"} == {
        "erp-prod"
    }
    images = {c["image"] for spec in pod_specs(docs).values() for c in spec["containers"]}
    assert images == {"registry.example.com/erp/erp-core:1.0.0"}
    assert (
        objects("overlays/prod", "HorizontalPodAutoscaler")["erp-web"]["spec"]["minReplicas"] == 3
    )
    config, _ = config_and_secret(docs)
    assert config["CACHE_KEY_PREFIX"] == "erp-prod"
    assert len(config) == len(config_and_secret(render("base"))[0])  # patched, nothing lost


# --- workloads -----------------------------------------------------------------------------


def test_web_probes_pdb_and_cpu_autoscaling():
    docs = base_files()
    web = next(d for d in docs if d["kind"] == "Deployment" and d["metadata"]["name"] == "erp-web")
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["command"][:2] == ["gunicorn", "config.wsgi"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/health/live/"
    assert container["readinessProbe"]["httpGet"]["path"] == "/health/ready/"
    config, _ = config_and_secret(docs)
    host = container["readinessProbe"]["httpGet"]["httpHeaders"][0]["value"]
    assert host in config["ALLOWED_HOSTS"].split(",")  # else Django answers the probe 400
    pdb = next(d for d in docs if d["kind"] == "PodDisruptionBudget")
    assert pdb["spec"]["selector"]["matchLabels"] == web["spec"]["selector"]["matchLabels"]
    hpa = next(d for d in docs if d["kind"] == "HorizontalPodAutoscaler")
    assert hpa["spec"]["scaleTargetRef"]["name"] == "erp-web"
    assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_a_worker_per_queue_with_grace_above_the_longest_soft_limit(settings):
    from core.celery_app import app

    soft_limits = [settings.CELERY_TASK_SOFT_TIME_LIMIT] + [
        task.soft_time_limit for task in app.tasks.values() if task.soft_time_limit
    ]
    longest = max(soft_limits)
    workers = {}
    for doc in base_files():
        if doc["kind"] == "Deployment" and doc["metadata"]["name"].startswith("erp-worker-"):
            spec = doc["spec"]["template"]["spec"]
            command = spec["containers"][0]["command"]
            queue = command[command.index("-Q") + 1]
            workers[queue] = (spec, command)
    queues = {queue.name for queue in settings.CELERY_TASK_QUEUES}
    assert set(workers) == queues, "one worker Deployment per queue of CELERY_TASK_QUEUES"
    for queue, (spec, command) in workers.items():
        assert any(arg.startswith("--max-tasks-per-child=") for arg in command), queue
        assert spec["terminationGracePeriodSeconds"] > longest, (queue, longest)


def test_beat_runs_twice_with_the_lease_scheduler():
    beat = next(d for d in base_files() if d["metadata"]["name"] == "erp-beat")
    assert beat["spec"]["replicas"] == 2
    command = beat["spec"]["template"]["spec"]["containers"][0]["command"]
    assert "core.celery_app.beat:DatabaseScheduler" in command


def test_migration_job_runs_safe_migrate_as_the_owner():
    job = next(d for d in base_files() if d["kind"] == "Job")
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert container["command"] == ["python", "manage.py", "safe_migrate"]
    url = next(e for e in container["env"] if e["name"] == "DATABASE_URL")
    assert url["valueFrom"]["secretKeyRef"]["key"] == "DATABASE_OWNER_URL"


def test_backup_cronjob_backs_up_and_verifies():
    cron = next(d for d in base_files() if d["kind"] == "CronJob")
    spec = cron["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    assert spec["containers"][0]["command"] == ["python", "manage.py", "backup", "--verify"]
    config, _ = config_and_secret(base_files())
    mounts = {m["mountPath"] for m in spec["containers"][0]["volumeMounts"]}
    assert config["BACKUP_DIR"] in mounts
    assert cron["spec"]["concurrencyPolicy"] == "Forbid"


def test_every_pod_is_hardened():
    docs = base_files()
    specs = pod_specs(docs)
    assert len(specs) == 8  # web, 4 workers, beat, migrate, backup
    for name, spec in specs.items():
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["automountServiceAccountToken"] is False, name
        for container in spec["containers"]:
            security = container["securityContext"]
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            mounts = {m["mountPath"] for m in container["volumeMounts"]}
            assert "/tmp" in mounts, name
            assert "envFrom" in container, name
    policies = [d for d in docs if d["kind"] == "NetworkPolicy"]
    deny = next(p for p in policies if p["metadata"]["name"] == "erp-default-deny")
    assert deny["spec"]["policyTypes"] == ["Ingress", "Egress"] and "ingress" not in deny["spec"]
    web = next(p for p in policies if p["metadata"]["name"] == "erp-web-ingress")
    assert web["spec"]["ingress"][0]["ports"] == [{"protocol": "TCP", "port": 8000}]


# --- configuration -------------------------------------------------------------------------


def test_config_and_secret_hold_every_variable_of_env_example():
    config, secret = config_and_secret(base_files())
    missing = sorted(env_example() - set(config) - set(secret))
    assert not missing, f"add to deploy/k8s/base/configmap.yaml or secret.yaml: {missing}"
    assert not set(config) & set(secret)


def test_nothing_secret_in_the_config_map():
    config, secret = config_and_secret(base_files())
    # METRICS_REQUIRE_TOKEN is a switch (true/false), named like a secret but not one.
    leaked = sorted(
        name for name in config if SECRET_NAME.search(name) and name != "METRICS_REQUIRE_TOKEN"
    )
    assert not leaked, f"move to the Secret: {leaked}"
    credentials = sorted(
        name for name, value in config.items() if re.search(r"://[^/@]*:[^/@]*@", value)
    )
    assert not credentials, f"credentials in ConfigMap URLs: {credentials}"
    assert {"SECRET_KEY", "DATABASE_URL", "DATABASE_OWNER_URL", "REDIS_URL"} <= set(secret)
    assert all(
        not value or "CHANGE_ME" in value or "change-me" in value for value in secret.values()
    )


def _prod_environment() -> dict[str, str]:
    config, secret = config_and_secret(base_files())
    env = {**config, **secret}
    # The placeholder is refused by prod (as it should be); stand in a real-looking one.
    assert "change-me" in env["SECRET_KEY"]
    env["SECRET_KEY"] = "k8s-manifest-check-" + "x7Q2pL9zR4mN8vB3" * 3
    return {"PATH": os.environ["PATH"], "HOME": "/tmp", **env}


@pytest.mark.parametrize("module", ["config.settings.prod", "config.settings.staging"])
def test_every_variable_the_settings_read_is_in_the_config_map_or_secret(module):
    """Recorded while importing the settings with exactly the ConfigMap + Secret as their
    environment, so the import also proves they make a valid configuration."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "deploy" / "record_env_reads.py"), module],
        env=_prod_environment(), capture_output=True, text=True, timeout=120, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, f"prod settings refuse the manifests' config:\n{result.stderr}"
    read = set(json.loads(result.stdout.strip().splitlines()[-1]))
    assert {"DATABASE_URL", "CELERY_BEAT_LOCK_TTL", "GUNICORN_BIND", "AWS_S3_REGION_NAME"} <= read
    config, secret = config_and_secret(base_files())
    missing = sorted(read - set(config) - set(secret))
    assert not missing, f"settings read these, add them to the ConfigMap or Secret: {missing}"
    undocumented = sorted(read - env_example())
    assert not undocumented, f"document these in .env.example: {undocumented}"

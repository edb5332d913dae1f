"""`make install-runtime` (what `make run` uses) installs no dev tool; `make install` (test, lint,
bench) adds the dev group; each has its own up-to-date stamp. Real `uv sync` into a scratch venv
(from uv's cache, which syncing the project's own .venv filled)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.integration


def make(venv: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env.pop("VIRTUAL_ENV", None)
    return subprocess.run(
        ["make", f"VENV={venv}", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )


def has(venv: Path, module: str) -> bool:
    code = f"import importlib.util, sys; sys.exit(0 if importlib.util.find_spec({module!r}) else 1)"
    return subprocess.run([venv / "bin" / "python", "-c", code]).returncode == 0


def test_runtime_install_has_no_dev_group_and_stamps_are_separate(tmp_path):
    uv = shutil.which("uv", path=str(ROOT / ".venv" / "bin"))
    if uv is None:
        pytest.skip("the project's .venv has no uv (run `make install`)")
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", venv], check=True)
    (venv / "bin" / "uv").symlink_to(uv)  # make's $(BIN)/uv target is then satisfied

    runtime = make(venv, "install-runtime")
    assert runtime.returncode == 0, runtime.stdout + runtime.stderr
    assert "--no-dev" in runtime.stdout
    assert has(venv, "django") and has(venv, "gunicorn") and has(venv, "supervisor")
    for dev_only in ("pytest", "moto", "ruff", "playwright", "matplotlib"):
        assert not has(venv, dev_only), dev_only
    assert (venv / ".synced-runtime").exists() and not (venv / ".synced-dev").exists()
    assert make(venv, "-q", "install-runtime").returncode == 0  # up to date: no re-sync
    assert make(venv, "-q", "install").returncode != 0  # the dev install is still to do

    dev = make(venv, "install")
    assert dev.returncode == 0, dev.stdout + dev.stderr
    assert has(venv, "pytest") and has(venv, "moto") and has(venv, "django")
    assert make(venv, "-q", "install").returncode == 0
    assert make(venv, "-q", "install-runtime").returncode == 0  # the dev sync covers runtime
    # A lock change makes both stale again.
    os.utime(venv / ".synced-dev", (1, 1))
    os.utime(venv / ".synced-runtime", (1, 1))
    assert make(venv, "-q", "install").returncode != 0
    assert make(venv, "-q", "install-runtime").returncode != 0

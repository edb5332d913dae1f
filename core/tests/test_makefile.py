"""What `make` echoes never contains a database password."""

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_make_run_never_prints_database_passwords():
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://erp_app:APP-SECRET-1@127.0.0.1:5432/erp_dev",
        "DATABASE_OWNER_URL": "postgres://erp_owner:OWNER-SECRET-2@127.0.0.1:5432/erp_dev",
        "DATABASE_ADMIN_URL": "postgres://postgres:ADMIN-SECRET-3@127.0.0.1:5432/postgres",
    }
    # -n prints every recipe line make would echo (and more: lines prefixed with @ too).
    result = subprocess.run(
        ["make", "-n", "-B", "run", "check-migrations"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "manage.py migrate" in result.stdout and "check_migrations" in result.stdout
    for secret in ("APP-SECRET-1", "OWNER-SECRET-2", "ADMIN-SECRET-3"):
        assert secret not in result.stdout + result.stderr

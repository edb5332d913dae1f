"""Backup/restore on ≥ 1,000,000 order rows: ERP Core's ``backup``/``restore``/``verify_backup``
next to raw ``pg_dump -Fc`` / ``pg_restore -j`` of the same database, in the same run.

    .venv/bin/python -m bench.backup [--rows 1000000]

Creates and drops its own database (``erp_bench_backup_*``) as DATABASE_ADMIN_URL's role.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench._pgdata import bench_db_name, fill_orders, setup_django, table


def timed(fn):
    started = time.monotonic()
    result = fn()
    return time.monotonic() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    dbname = bench_db_name("backup")
    setup_django(dbname)

    from django.conf import settings
    from django.core.management import call_command

    from core.db import server
    from core.db.backups import services

    work = Path(tempfile.mkdtemp(prefix="erp-bench-backup-"))
    settings.BACKUP_DIR = work / "sets"
    settings.MEDIA_ROOT = work / "media"
    settings.BACKUP_FREE_SPACE_MARGIN_BYTES = 0
    settings.BACKUP_KEEP_LAST = 10
    (work / "media").mkdir()
    (work / "media" / "file.bin").write_bytes(b"x" * 1024 * 1024)
    targets: list[str] = []
    server.create_database(dbname)
    try:
        print(f"migrating {dbname} ...", flush=True)
        call_command("migrate", verbosity=0)
        with server.admin_endpoint().connect(dbname) as conn:
            fill = fill_orders(conn, args.rows)
            size = conn.execute("SELECT pg_size_pretty(pg_database_size(%s))", [dbname]).fetchone()[
                0
            ]
        print(f"generated {args.rows:,} orders in {fill:.1f}s; database {size}", flush=True)
        env = server.admin_endpoint().env()
        jobs = str(settings.BACKUP_JOBS)

        raw_dump, _ = timed(
            lambda: subprocess.run(
                ["pg_dump", "-Fc", "-f", str(work / "raw.dump"), dbname], env=env, check=True
            )
        )
        raw_target = f"{dbname}_raw"
        targets.append(raw_target)
        server.create_database(raw_target)
        raw_restore, _ = timed(
            lambda: subprocess.run(
                [
                    "pg_restore",
                    "-j",
                    jobs,
                    "--exit-on-error",
                    "-d",
                    raw_target,
                    str(work / "raw.dump"),
                ],
                env=env,
                check=True,
            )
        )
        settings.BACKUP_FORMAT = "custom"
        ours_custom, custom_set = timed(services.create_backup)
        settings.BACKUP_FORMAT = "directory"
        ours_dir, dir_set = timed(services.create_backup)
        ours_target = f"{dbname}_ours"
        targets.append(ours_target)
        ours_restore, _ = timed(lambda: services.restore_backup(dir_set.id, target_db=ours_target))
        ours_restore_custom_target = f"{dbname}_ourc"
        targets.append(ours_restore_custom_target)
        ours_restore_custom, _ = timed(
            lambda: services.restore_backup(custom_set.id, target_db=ours_restore_custom_target)
        )
        verify, result = timed(lambda: services.verify_backup(dir_set.id))
        raw_size = (work / "raw.dump").stat().st_size

        rows = [
            ["pg_dump -Fc (raw baseline)", f"{raw_dump:.2f}", "1.00", f"{raw_size / 2**20:.1f}"],
            [
                "backup, custom format",
                f"{ours_custom:.2f}",
                f"{ours_custom / raw_dump:.2f}",
                f"{custom_set.size / 2**20:.1f}",
            ],
            [
                f"backup, directory -j{jobs}",
                f"{ours_dir:.2f}",
                f"{ours_dir / raw_dump:.2f}",
                f"{dir_set.size / 2**20:.1f}",
            ],
            [f"pg_restore -j{jobs} (raw baseline)", f"{raw_restore:.2f}", "1.00", ""],
            [
                "restore, custom set",
                f"{ours_restore_custom:.2f}",
                f"{ours_restore_custom / raw_restore:.2f}",
                "",
            ],
            [
                "restore, directory set",
                f"{ours_restore:.2f}",
                f"{ours_restore / raw_restore:.2f}",
                "",
            ],
            [
                "verify_backup (restore+counts+drop)",
                f"{verify:.2f}",
                f"{verify / raw_restore:.2f}",
                "",
            ],
        ]
        print()
        print(
            f"{args.rows:,} orders, database {size}; RTO recorded in manifest: "
            f"{result['rto_seconds']}s"
        )
        print(table(["operation", "seconds", "x raw", "MiB"], rows))
    finally:
        from django.db import connections

        connections.close_all()
        for name in [*targets, dbname]:
            server.drop_database(name)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

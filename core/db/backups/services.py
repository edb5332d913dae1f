"""Backup, restore, verify and retention. Plain functions: commands, Celery and safe_migrate call
them; ``progress`` receives human-readable steps.

Nothing here touches the live database except reading it (``pg_dump`` and row counts): a restore
goes into a *staging* database first and replaces the target only once ``pg_restore`` has
succeeded, so a corrupted, truncated or wrong dump leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import platform
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import django
import psycopg
from django.conf import settings
from django.db import connections
from django.db.migrations.loader import MigrationLoader
from psycopg import sql

from core.db import server

from .manifest import (
    FORMAT_VERSION,
    BackupError,
    BackupSet,
    backup_root,
    checksum_files,
    get_set,
    list_sets,
    new_set_id,
    remove_set,
)

Progress = Callable[[str], None]
DUMP = "db.dump"
MEDIA = "media.tar.gz"


def _quiet(message: str) -> None:
    pass


def free_bytes(path: Path) -> int:
    """Free space where ``path`` lives (a seam: tests monkeypatch it to simulate a full disk)."""
    while not path.exists():
        path = path.parent
    return shutil.disk_usage(path).free


def _run(command: list[str], env: dict, what: str) -> None:
    result = subprocess.run(command, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        tail = "\n".join(result.stderr.strip().splitlines()[-8:])
        raise BackupError(f"{what} failed (exit {result.returncode}):\n{tail}")


def _media_bytes(media_root: Path) -> int:
    if not media_root.is_dir():
        return 0
    return sum(p.stat().st_size for p in media_root.rglob("*") if p.is_file())


def _table_counts(conn: psycopg.Connection) -> dict[str, int]:
    tables = conn.execute(
        "SELECT schemaname, relname FROM pg_stat_user_tables ORDER BY schemaname, relname"
    ).fetchall()
    counts = {}
    for schema, table in tables:
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(
            sql.Identifier(schema), sql.Identifier(table)
        )
        counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return counts


def _applied_migrations(conn: psycopg.Connection) -> list[str]:
    exists = conn.execute("SELECT to_regclass('public.django_migrations')").fetchone()[0]
    if not exists:
        return []
    rows = conn.execute("SELECT app, name FROM django_migrations ORDER BY id").fetchall()
    return [f"{app}.{name}" for app, name in rows]


def _tool_version(program: str) -> str:
    result = subprocess.run(
        [server.pg_program(program), "--version"], capture_output=True, text=True
    )
    return result.stdout.strip()


@contextlib.contextmanager
def backup_lock(root: Path):
    """One backup at a time per BACKUP_DIR (a second one would compete for disk and I/O, and
    set ids are per second): an exclusive, non-blocking lock on ``BACKUP_DIR/.backup.lock``."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / ".backup.lock", "w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BackupError(
                f"Another backup is running (lock held on {root / '.backup.lock'}): wait for it "
                "to finish, or check for a stuck `manage.py backup` process."
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def create_backup(*, verify: bool = False, progress: Progress = _quiet) -> BackupSet:
    """Dump the live database and MEDIA_ROOT into a new set; optionally verify it; prune.

    Row counts are taken inside the snapshot that ``pg_dump`` uses (``pg_export_snapshot``), so
    they describe exactly the dumped data even while the application keeps writing.
    """
    root = backup_root()
    with backup_lock(root):
        return _create_backup(root, verify=verify, progress=progress)


def _create_backup(root: Path, *, verify: bool, progress: Progress) -> BackupSet:
    endpoint = server.dump_endpoint()
    media_root = Path(settings.MEDIA_ROOT)
    set_id = new_set_id()
    target = root / set_id
    with endpoint.connect() as conn:
        db_size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    needed = db_size + _media_bytes(media_root) + settings.BACKUP_FREE_SPACE_MARGIN_BYTES
    available = free_bytes(root)
    if available < needed:
        raise BackupError(
            f"Not enough free space in {root}: {available:,} bytes free, about {needed:,} needed "
            f"(database {db_size:,} bytes + media + BACKUP_FREE_SPACE_MARGIN_BYTES). Free space, "
            "prune old sets (lower BACKUP_KEEP_LAST/BACKUP_KEEP_DAYS) or point BACKUP_DIR elsewhere."
        )
    target.mkdir()
    started = time.monotonic()
    try:
        with endpoint.connect(autocommit=False) as snap:
            snap.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            snapshot = snap.execute("SELECT pg_export_snapshot()").fetchone()[0]
            server_version = snap.execute("SHOW server_version").fetchone()[0]
            progress(f"counting rows in snapshot {snapshot}")
            counts = _table_counts(snap)
            migrations = _applied_migrations(snap)
            fmt = settings.BACKUP_FORMAT
            command = [
                server.pg_program("pg_dump"),
                f"--format={fmt}",
                f"--snapshot={snapshot}",
                f"--file={target / DUMP}",
                "--no-password",
                f"--dbname={endpoint.dbname_arg()}",
            ]
            if fmt == "directory":
                command.append(f"--jobs={settings.BACKUP_JOBS}")
            progress(f"pg_dump --format={fmt} of {endpoint.dbname} ({db_size:,} bytes on disk)")
            _run(command, endpoint.env(), "pg_dump")
            snap.rollback()
        progress(f"archiving MEDIA_ROOT {media_root}")
        with tarfile.open(target / MEDIA, "w:gz") as archive:
            if media_root.is_dir():
                archive.add(media_root, arcname="media")
        progress("checksumming files")
        backup_set = BackupSet(
            set_id,
            target,
            {
                "format_version": FORMAT_VERSION,
                "app": "erp-core",
                "id": set_id,
                "created_at": datetime.now(UTC).isoformat(),
                "duration_seconds": round(time.monotonic() - started, 3),
                "database": endpoint.dbname,
                "dump_format": fmt,
                "postgres_version": server_version,
                "pg_dump_version": _tool_version("pg_dump"),
                "app_version": settings.APP_VERSION,
                "django_version": django.get_version(),
                "python_version": platform.python_version(),
                "host": platform.node(),
                "applied_migrations": migrations,
                "pending_migrations": _pending_migrations(migrations),
                "row_counts": counts,
                "files": checksum_files(target),
            },
        )
        backup_set.save()
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)  # never leave a partial set behind
        raise
    progress(f"backup {set_id} written ({backup_set.size:,} bytes)")
    if verify:
        verify_backup(set_id, progress=progress)
        backup_set = get_set(set_id)  # re-read: the manifest now holds the verification
    apply_retention(progress=progress)
    return backup_set


def _staging_name(prefix: str, set_id: str) -> str:
    return f"{prefix}_{set_id.lower().replace('-', '_')}_{int(time.time() * 1000) % 100000}"[:63]


def _restore_into_new_database(
    backup_set: BackupSet, dbname: str, progress: Progress
) -> tuple[float, dict[str, int]]:
    """pg_restore the set into a database that must not exist yet and check its row counts
    against the manifest (a dump truncated at a row boundary restores "successfully" with fewer
    rows); drop it on any failure. Returns the restore duration in seconds and the counts."""
    admin = server.admin_endpoint()
    owner = server.dump_endpoint().user
    server.create_database(dbname, owner=owner)
    started = time.monotonic()
    try:
        progress(f"pg_restore -j {settings.BACKUP_JOBS} into {dbname}")
        _run(
            [
                server.pg_program("pg_restore"),
                "--exit-on-error",
                f"--jobs={settings.BACKUP_JOBS}",
                "--no-password",
                f"--dbname={admin.dbname_arg(dbname)}",
                str(backup_set.path / DUMP),
            ],
            admin.env(),
            f"pg_restore of backup {backup_set.id}",
        )
        duration = time.monotonic() - started
        progress("comparing row counts with the manifest")
        with admin.connect(dbname) as conn:
            counts = _table_counts(conn)
        expected = backup_set.manifest["row_counts"]
        mismatches = {
            table: {"manifest": expected.get(table), "restored": counts.get(table)}
            for table in sorted(set(expected) | set(counts))
            if expected.get(table) != counts.get(table)
        }
        if mismatches:
            raise BackupError(
                f"Row counts of the restored backup {backup_set.id} differ from the manifest "
                f"({mismatches}): the dump is incomplete or damaged. Use another set."
            )
    except BaseException:
        server.drop_database(dbname)
        raise
    return duration, counts


def _check_compatible(backup_set: BackupSet) -> None:
    manifest = backup_set.manifest
    if manifest.get("app") != "erp-core" or manifest.get("format_version") != FORMAT_VERSION:
        raise BackupError(
            f"Backup {backup_set.id} is not an ERP Core backup set of format {FORMAT_VERSION} "
            "(wrong directory in BACKUP_DIR?). Nothing was restored."
        )


def restore_backup(
    backup_id: str,
    *,
    target_db: str | None = None,
    force: bool = False,
    keep_previous: bool = False,
    media_to: Path | None = None,
    progress: Progress = _quiet,
) -> dict:
    """Restore a set into ``target_db`` (default: the live database).

    Order: checksums → compatibility → target checks (a non-empty target needs ``force``) →
    ``pg_restore`` into a staging database + row counts against the manifest → only then terminate the target's sessions and swap
    the staging database in (the old one is dropped unless ``keep_previous``) → media.
    """
    backup_set = get_set(backup_id)
    progress(f"checking checksums of backup {backup_set.id}")
    backup_set.check_files()
    _check_compatible(backup_set)
    live = settings.DATABASES["default"]["NAME"]
    target = target_db or live
    exists = server.database_exists(target)
    if exists and not server.database_is_empty(target) and not force:
        raise BackupError(
            f"Database {target!r} exists and is not empty: refusing to overwrite it. Restore into "
            "another database with --target-db NAME, or pass --force to replace it (its current "
            "content is dropped; add --keep-previous to keep it renamed)."
        )
    staging = _staging_name("restore", backup_set.id)
    duration, _counts = _restore_into_new_database(backup_set, staging, progress)
    previous = None
    if exists:
        terminated = server.terminate_sessions(target)
        progress(f"terminated {terminated} session(s) on {target}")
        previous = f"{target}_pre_restore_{int(time.time())}"[:63]
        server.rename_database(target, previous)
    server.rename_database(staging, target)
    if previous and not keep_previous:
        server.drop_database(previous)
    if target == live:
        connections["default"].close()
    restored_media = None
    media_dest = media_to or (Path(settings.MEDIA_ROOT) if target == live else None)
    if media_dest is not None:
        restored_media = _restore_media(backup_set, Path(media_dest), progress)
    progress(f"restored {backup_set.id} into {target} in {duration:.1f}s")
    return {
        "backup": backup_set.id,
        "database": target,
        "previous": previous if keep_previous else None,
        "media": str(restored_media) if restored_media else None,
        "restore_seconds": round(duration, 3),
    }


def _restore_media(backup_set: BackupSet, destination: Path, progress: Progress) -> Path:
    """Unpack next to ``destination`` then swap directories (the old one is kept renamed)."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    unpack = destination.parent / f".{destination.name}.restoring"
    shutil.rmtree(unpack, ignore_errors=True)
    unpack.mkdir()
    with tarfile.open(backup_set.path / MEDIA, "r:gz") as archive:
        archive.extractall(unpack, filter="data")
    restored = unpack / "media"
    restored.mkdir(exist_ok=True)
    if destination.exists():
        destination.rename(
            destination.parent / f"{destination.name}.pre-restore-{int(time.time())}"
        )
    restored.rename(destination)
    shutil.rmtree(unpack, ignore_errors=True)
    progress(f"media restored into {destination}")
    return destination


def _pending_migrations(applied_labels: list[str]) -> list[str]:
    """What ``migrate --check`` reports for a database with these applied migrations: the
    migrations of this code base it lacks (squashed ones count as applied when everything they
    replace is). Computed from django_migrations read over a plain connection, because Django's
    connections stay on the live database."""
    applied = {tuple(label.split(".", 1)) for label in applied_labels}
    loader = MigrationLoader(None, ignore_no_migrations=True)
    for key, migration in loader.replacements.items():
        if all(tuple(r) in applied for r in migration.replaces):
            applied.add(key)
    graph = loader.graph
    needed = {node for leaf in graph.leaf_nodes() for node in graph.forwards_plan(leaf)}
    return [f"{app}.{name}" for app, name in sorted(needed - applied)]


def verify_backup(backup_id: str, *, progress: Progress = _quiet) -> dict:
    """Restore into a scratch database (row counts compared with the manifest), check that it
    is exactly as migrated as the source was (``migrate --check``), drop the scratch database; record the result (and RTO) in the manifest.
    Raises BackupError when verification fails (after recording the failure)."""
    backup_set = get_set(backup_id)
    result: dict = {"verified_at": datetime.now(UTC).isoformat(), "status": "failed"}
    scratch = _staging_name("verify", backup_set.id)
    try:
        backup_set.check_files()
        _check_compatible(backup_set)
        duration, counts = _restore_into_new_database(backup_set, scratch, progress)
        result["rto_seconds"] = round(duration, 3)
        result["tables"] = len(counts)
        result["rows"] = sum(counts.values())
        result["row_count_mismatches"] = {}
        try:
            progress("migrate --check against the restored database")
            with server.admin_endpoint().connect(scratch) as conn:
                restored_migrations = _applied_migrations(conn)
            result["pending_migrations"] = _pending_migrations(restored_migrations)
        finally:
            server.drop_database(scratch)
        # A pre-migration backup (safe_migrate) legitimately lacks the migrations about to be
        # applied: the restored database must be exactly as migrated as the live one was.
        expected_pending = backup_set.manifest.get("pending_migrations", [])
        if (
            restored_migrations != backup_set.manifest["applied_migrations"]
            or result["pending_migrations"] != expected_pending
        ):
            raise BackupError(
                "migrate --check: the restored database's migrations differ from the manifest "
                f"(pending now {result['pending_migrations']}, at backup time {expected_pending})"
            )
        result["status"] = "ok"
    except BackupError as exc:
        result["error"] = str(exc)
        raise BackupError(f"Verification of backup {backup_set.id} failed: {exc}") from exc
    finally:
        if backup_set.path.is_dir():
            backup_set.record_verification(result)
    progress(
        f"backup {backup_set.id} verified: {result['rows']:,} rows in {result['tables']} tables, "
        f"restore took {result['rto_seconds']:.1f}s"
    )
    return result


def sets_to_prune(
    sets: list[BackupSet], *, keep_last: int, keep_days: int, now: datetime
) -> list[BackupSet]:
    """The retention policy: a set is kept if it is one of the ``keep_last`` newest OR younger
    than ``keep_days`` days (0 disables that rule); every other set is deleted. The newest set
    is never deleted."""
    newest_first = sorted(sets, key=lambda s: s.created_at, reverse=True)
    doomed = []
    for index, backup_set in enumerate(newest_first):
        recent = keep_days > 0 and now - backup_set.created_at < timedelta(days=keep_days)
        if index == 0 or index < keep_last or recent:
            continue
        doomed.append(backup_set)
    return doomed


def apply_retention(*, now: datetime | None = None, progress: Progress = _quiet) -> list[str]:
    doomed = sets_to_prune(
        list_sets(),
        keep_last=settings.BACKUP_KEEP_LAST,
        keep_days=settings.BACKUP_KEEP_DAYS,
        now=now or datetime.now(UTC),
    )
    for backup_set in doomed:
        remove_set(backup_set)
        progress(f"retention: deleted {backup_set.id}")
    return [s.id for s in doomed]


def run_nightly_backup() -> dict:
    """Backup + verify + retention, for the scheduler (Celery beat; docs/backups.md).
    Raises BackupError on failure so the task is marked failed and alerts."""
    backup_set = create_backup(verify=True)
    return {"id": backup_set.id, "size": backup_set.size, **(backup_set.verification or {})}

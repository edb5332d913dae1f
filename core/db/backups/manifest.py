"""Backup sets on disk: ``BACKUP_DIR/<id>/`` holding ``manifest.json``, the dump and media.tar.gz.

The manifest records when and from what the set was made (Postgres, pg_dump, app and Django
versions, applied migrations, per-table row counts taken in the dump's own snapshot), the sha256
and size of every file, and the last verification (status, time, restore duration = RTO).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


class BackupError(Exception):
    """A backup, restore or verification failed; the message tells the operator what to do."""


def backup_root() -> Path:
    return Path(settings.BACKUP_DIR)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def checksum_files(directory: Path) -> dict[str, dict]:
    files = {}
    for path in sorted(p for p in directory.rglob("*") if p.is_file() and p.name != MANIFEST):
        files[str(path.relative_to(directory))] = {
            "sha256": sha256_of(path),
            "size": path.stat().st_size,
        }
    return files


@dataclass
class BackupSet:
    id: str
    path: Path
    manifest: dict

    @property
    def created_at(self) -> datetime:
        return datetime.fromisoformat(self.manifest["created_at"])

    @property
    def size(self) -> int:
        return sum(f["size"] for f in self.manifest.get("files", {}).values())

    @property
    def verification(self) -> dict | None:
        return self.manifest.get("verification")

    def save(self) -> None:
        tmp = self.path / f".{MANIFEST}.tmp"
        tmp.write_text(json.dumps(self.manifest, indent=2, sort_keys=True))
        os.replace(tmp, self.path / MANIFEST)

    def check_files(self) -> None:
        """Raise BackupError unless every file listed is present with its recorded checksum."""
        problems = []
        for name, meta in self.manifest.get("files", {}).items():
            path = self.path / name
            if not path.is_file():
                problems.append(f"{name} is missing")
            elif path.stat().st_size != meta["size"]:
                problems.append(f"{name} is {path.stat().st_size} bytes, expected {meta['size']}")
            elif sha256_of(path) != meta["sha256"]:
                problems.append(f"{name} checksum mismatch")
        if not self.manifest.get("files"):
            problems.append("the manifest lists no files")
        if problems:
            raise BackupError(
                f"Backup {self.id} is corrupted ({'; '.join(problems)}). Do not restore it: "
                "pick another set (list_backups) and investigate the storage."
            )

    def record_verification(self, result: dict) -> None:
        self.manifest["verification"] = result
        self.save()


def list_sets() -> list[BackupSet]:
    """Complete sets (those with a manifest), newest first."""
    root = backup_root()
    if not root.is_dir():
        return []
    sets = []
    for path in root.iterdir():
        manifest = path / MANIFEST
        if path.is_dir() and manifest.is_file():
            try:
                data = json.loads(manifest.read_text())
            except ValueError:
                continue
            sets.append(BackupSet(path.name, path, data))
    return sorted(sets, key=lambda s: s.created_at, reverse=True)


def get_set(backup_id: str) -> BackupSet:
    sets = list_sets()
    if backup_id == "latest":
        if not sets:
            raise BackupError(
                f"No backup set in {backup_root()}: run `python manage.py backup` first."
            )
        return sets[0]
    for backup_set in sets:
        if backup_set.id == backup_id:
            return backup_set
    known = ", ".join(s.id for s in sets[:5]) or "none"
    raise BackupError(
        f"Unknown backup id {backup_id!r} in {backup_root()} (newest: {known}). "
        "Run `python manage.py list_backups`."
    )


def new_set_id(now: datetime | None = None) -> str:
    base = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%SZ")
    candidate, n = base, 1
    while (backup_root() / candidate).exists():
        n += 1
        candidate = f"{base}-{n}"
    return candidate


def remove_set(backup_set: BackupSet) -> None:
    shutil.rmtree(backup_set.path)

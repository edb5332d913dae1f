"""Storage backends of ERP Core (``STORAGES['default']``, see core.storage.config)."""

from __future__ import annotations

import logging
from pathlib import Path

from django.core.files.storage import FileSystemStorage

__all__ = ["LocalStorage"]

logger = logging.getLogger(__name__)


class LocalStorage(FileSystemStorage):
    """Django's ``FileSystemStorage`` that leaves nothing behind when a save fails.

    Django opens the target, then writes (or copies a spooled upload across filesystems) chunk
    by chunk: a full disk or an I/O error half way leaves a partial or empty file that keeps the
    disk full. Here a failed save removes the file it created and the directories it created
    for it, whatever the failure point, and re-raises.
    """

    def _save(self, name, content):
        full_path = Path(self.path(name))
        # Storage keys are random (api.v1.files.models.generate_storage_key), so the target
        # never exists; should it, the file is someone else's and must never be removed.
        existed = full_path.exists()
        missing_dirs = [d for d in full_path.parents if not d.exists()]
        try:
            return super()._save(name, content)
        except BaseException:
            if not existed:
                self._remove_partial(full_path, missing_dirs)
            raise

    def _remove_partial(self, full_path: Path, created_dirs: list[Path]) -> None:
        try:
            full_path.unlink(missing_ok=True)
            for directory in created_dirs:  # innermost first
                directory.rmdir()
        except OSError as exc:  # rmdir refuses a directory another upload is using: leave it
            logger.debug("partial upload cleanup stopped at %s: %s", full_path, exc)
        else:
            logger.info("removed the partial file of a failed save: %s", full_path)

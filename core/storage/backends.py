"""Storage backends of ERP Core (``STORAGES['default']``, see core.storage.config)."""

from __future__ import annotations

import logging
from pathlib import Path

from django.core.files.storage import FileSystemStorage

__all__ = ["LocalStorage", "S3Storage"]

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


try:
    from storages.backends.s3 import S3Storage as _S3Storage
except ImportError:  # pragma: no cover - django-storages is a dependency
    _S3Storage = object

# boto3's names for the response overrides -> the query parameters S3 reads.
_S3_RESPONSE_PARAMS = {
    "ResponseContentDisposition": "response-content-disposition",
    "ResponseContentType": "response-content-type",
    "ResponseCacheControl": "response-cache-control",
    "ResponseContentEncoding": "response-content-encoding",
    "ResponseContentLanguage": "response-content-language",
    "ResponseExpires": "response-expires",
}


class S3Storage(_S3Storage):
    """django-storages' ``S3Storage`` for a CDN domain (``AWS_S3_CUSTOM_DOMAIN``): the response
    overrides of a download (file name, type) go into the signed CDN URL under the query names
    S3 understands (``response-content-disposition``...), not boto3's parameter names."""

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.custom_domain and parameters:
            parameters = {_S3_RESPONSE_PARAMS.get(k, k): v for k, v in parameters.items()}
        return super().url(name, parameters=parameters, expire=expire, http_method=http_method)

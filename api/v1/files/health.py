"""Readiness checks of file storage (never critical: the API answers without it → degraded)."""

import os
import shutil

from django.conf import settings
from django.core.files.storage import default_storage, storages

from core.health.registry import register
from core.webhosts import web_hosts

from .scanning import get_scanner


def storage_status() -> dict:
    """Reachability of the storage and, for local storage, the disk under MEDIA_ROOT.

    Raises with an operator-readable message when the storage can't be used.
    """
    storage = default_storage
    details: dict = {"backend": type(storages["default"]).__name__}
    try:
        root = storage.path("")
    except NotImplementedError:
        storage.listdir("")  # one LIST request: credentials, bucket and network all work
        return details
    if not os.path.isdir(root):
        raise RuntimeError(f"MEDIA_ROOT {root} does not exist: create it, writable by the app user")
    if not os.access(root, os.W_OK | os.X_OK):
        raise RuntimeError(f"MEDIA_ROOT {root} is not writable by this process")
    usage = shutil.disk_usage(root)
    free_percent = round(100 * usage.free / usage.total, 1) if usage.total else 0.0
    details.update(
        disk_total_bytes=usage.total, disk_free_bytes=usage.free, disk_free_percent=free_percent
    )
    if warning := multi_host_warning():
        details.update(multi_host="warn", warnings=[warning])
    if free_percent < settings.FILES_DISK_FREE_MIN_PERCENT:
        raise RuntimeError(
            f"only {free_percent}% disk free under MEDIA_ROOT {root} "
            f"(minimum {settings.FILES_DISK_FREE_MIN_PERCENT}%): free space or grow the volume"
        )
    return details


def multi_host_warning() -> str:
    """With local storage: a warning when more than one web host reports a heartbeat."""
    try:
        hosts = web_hosts()
    except Exception:  # noqa: BLE001 - the broker's own check reports an unreachable Redis
        return ""
    if len(hosts) <= 1:
        return ""
    return (
        f"{len(hosts)} web hosts serve ({', '.join(sorted(hosts))}) with local storage "
        f"(STORAGE_BACKEND=local): each sees only its own MEDIA_ROOT. Use S3 or one NFS/EFS "
        f"mount on every host: docs/storage.md#several-web-hosts"
    )


@register("storage")
def storage() -> dict:
    return storage_status()


@register("virus_scanner")
def virus_scanner() -> dict:
    scanner = get_scanner()
    if scanner is None:
        return {"enabled": False}
    scanner.ping()
    return {"enabled": True, "scanner": scanner.name}

"""Prometheus collectors of file storage, computed at scrape time from the database and the
storage itself (so every gunicorn process reports the same numbers)."""

import logging
import shutil

from django.core.files.storage import default_storage
from django.db.models import Count, Sum
from prometheus_client.core import GaugeMetricFamily

from core.registry import register_metrics_collector

from .models import FileStorage, ScanStatus

logger = logging.getLogger(__name__)


class FileStorageCollector:
    def collect(self):
        files = GaugeMetricFamily(
            "erp_files", "Stored files by scan status", labels=["scan_status"]
        )
        size = GaugeMetricFamily(
            "erp_files_bytes", "Bytes of stored files by scan status", labels=["scan_status"]
        )
        try:
            rows = {
                row["scan_status"]: row
                for row in FileStorage.objects.values("scan_status").annotate(
                    n=Count("id"), bytes=Sum("size")
                )
            }
        except Exception:  # noqa: BLE001 - a scrape must not fail because one source did
            logger.warning("files metrics: database unavailable", exc_info=True)
            rows = None
        if rows is not None:
            for status in ScanStatus.values:
                row = rows.get(status, {})
                files.add_metric([status], row.get("n", 0))
                size.add_metric([status], row.get("bytes") or 0)
            yield files
            yield size

        up = GaugeMetricFamily("erp_storage_up", "1 when the file storage answers a listing")
        try:
            default_storage.listdir("")
            up.add_metric([], 1)
        except Exception:  # noqa: BLE001
            up.add_metric([], 0)
        yield up

        try:
            root = default_storage.path("")
            usage = shutil.disk_usage(root)
        except (NotImplementedError, OSError):
            return
        total = GaugeMetricFamily("erp_media_disk_total_bytes", "Size of MEDIA_ROOT's filesystem")
        free = GaugeMetricFamily(
            "erp_media_disk_free_bytes", "Free bytes on MEDIA_ROOT's filesystem"
        )
        total.add_metric([], usage.total)
        free.add_metric([], usage.free)
        yield total
        yield free


register_metrics_collector("files", FileStorageCollector())

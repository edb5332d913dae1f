"""The files section of the operations page ``/ops/`` (registered by FilesConfig.ready())."""

from django.db.models import Count, Sum

from core.doctor import OK, WARN

from .models import FileStorage, ScanStatus


def files_panel() -> dict:
    rows = {
        row["scan_status"]: row
        for row in FileStorage.objects.values("scan_status").annotate(
            n=Count("id"), bytes=Sum("size")
        )
    }
    count = sum(r["n"] for r in rows.values())
    size = sum(r["bytes"] or 0 for r in rows.values())
    quarantined = rows.get(ScanStatus.INFECTED, {}).get("n", 0)
    from core.ops.panels import fmt_bytes

    return {
        "status": WARN if quarantined else OK,
        "items": [
            {"label": "files", "value": f"{count:,}"},
            {"label": "bytes", "value": f"{fmt_bytes(size)} ({size:,})"},
            {
                "label": "quarantined",
                "value": f"{quarantined:,}",
                "status": WARN if quarantined else OK,
            },
        ],
        "tables": [
            {
                "title": "By scan status",
                "columns": ["scan status", "files", "bytes"],
                "rows": [
                    [
                        label,
                        f"{rows.get(value, {}).get('n', 0):,}",
                        fmt_bytes(rows.get(value, {}).get("bytes") or 0),
                    ]
                    for value, label in ScanStatus.choices
                ],
            }
        ],
    }

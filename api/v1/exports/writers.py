"""CSV writers: the API's own serializers decide the columns, so a file matches the API.

Each module registers its export kinds (model queryset + serializer) from its own
``AppConfig.ready()`` with ``core.registry.register_export_source``; this file knows none.

Rows are read with ``.iterator(chunk_size=...)`` (a server-side cursor: memory stays flat for
any table size) and written to a spooled temporary file (memory up to 1 MiB, then disk) that the
storage backend then streams (S3: multipart upload).
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections.abc import Iterable

from django.conf import settings

from core.api.renderers import dumps
from core.registry import registry


def source_for(kind: str):
    """The registered export source (``core.registry.register_export_source``) of ``kind``."""
    return registry["export_sources"][kind]


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return dumps(value).decode()
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def header_for(kind: str) -> list[str]:
    return list(source_for(kind).serializer_class().fields)


def rows_for(kind: str, organization_id: int) -> Iterable[list[str]]:
    source = source_for(kind)
    serializer = source.serializer_class()
    columns = list(serializer.fields)
    chunk_size = settings.EXPORT_CHUNK_SIZE
    for instance in source.queryset(organization_id).iterator(chunk_size=chunk_size):
        data = serializer.to_representation(instance)
        yield [_cell(data[column]) for column in columns]


def write_csv(kind: str, organization_id: int) -> tuple[tempfile.SpooledTemporaryFile, int]:
    """The CSV in a rewound binary temp file, and the number of data rows."""
    spool = tempfile.SpooledTemporaryFile(max_size=1024 * 1024, mode="w+b")
    text = io.TextIOWrapper(spool, encoding="utf-8", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow(header_for(kind))
    count = 0
    for row in rows_for(kind, organization_id):
        writer.writerow(row)
        count += 1
    text.flush()
    text.detach()
    spool.seek(0)
    return spool, count

"""CSV downloads for every list that has one: UTF-8 with a byte order mark (Excel reads Chinese
only with it), streamed in chunks so a long export never sits in memory whole."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from fastapi.responses import StreamingResponse

from fengqiao.clock import LOCAL_TZ

CHUNK_CHARS = 65536


def _chunks(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.writer(buffer)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
        if buffer.tell() > CHUNK_CHARS:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def csv_download(
    header: Sequence[Any], rows: Iterable[Sequence[Any]], *, filename: str
) -> StreamingResponse:
    """`rows` may be a generator that opens its own session: it runs as the response streams."""
    return StreamingResponse(
        _chunks(header, rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def stamped(name: str, now: datetime) -> str:
    """`name-yyyymmdd-hhmm.csv`, the local time of the export."""
    return f"{name}-{now.astimezone(LOCAL_TZ):%Y%m%d-%H%M}.csv"

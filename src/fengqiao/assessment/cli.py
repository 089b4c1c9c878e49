"""`fengqiao bulletin`: write a day's bulletin (每日通报) to a file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, load_settings, open_database, problems_exit


def bulletin(
    date: Annotated[str, typer.Option("--date", help="Local day, e.g. 2026-11-27.")],
    out: Annotated[Path, typer.Option("--out", help="File to write.")],
    format: Annotated[str, typer.Option("--format", help="html, pdf or xlsx.")] = "pdf",
) -> None:
    """Export the district's bulletin (每日通报) of a day: as issued (with its 文号), or a draft
    built now if not issued yet."""
    from fengqiao.analytics.service import parse_day
    from fengqiao.assessment import bulletin as bulletins
    from fengqiao.errors import invalid

    settings = load_settings()
    now = datetime.now(UTC)
    with problems_exit():
        day = parse_day(date, "date")
        if format not in bulletins.FORMATS:
            raise invalid("format", "one of html, pdf, xlsx", "格式应为 html、pdf 或 xlsx 之一")
        with open_database().session() as session:
            content, stored = bulletins.content_for(session, day=day, now=now, settings=settings)
        data = bulletins.export(content, fmt=format, settings=settings)
    out.write_bytes(data)
    made = (
        "a draft built now (not issued)"
        if stored is None
        else f"issued as {stored.number}"
        if stored.number
        else "stored"
    )
    console.print(f"bulletin {day} ({made}) as {format}: {out} ({len(data):,} bytes)")

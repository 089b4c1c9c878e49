"""`fengqiao ops access-log`: read the personal-data access log from the command line."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.table import Table

from fengqiao.cli_support import console, open_database
from fengqiao.ops import access

ops_app = typer.Typer(
    help="The operator's view: the personal-data access log.", no_args_is_help=True
)


@ops_app.command("access-log")
def access_log(
    user: Annotated[str | None, typer.Option(help="Only views by this username.")] = None,
    subject: Annotated[
        str | None, typer.Option(help="TABLE or TABLE:ID, e.g. user_account:42 or event:7.")
    ] = None,
    since: Annotated[str | None, typer.Option(help="From this time, ISO 8601.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many rows, newest first.")] = 50,
) -> None:
    """Who was served phones or ID numbers unmasked: when, which rows, which fields."""
    table_name, _, subject_id = (subject or "").partition(":")
    wanted = access.AccessFilter(
        username=user,
        subject_table=table_name or None,
        subject_id=int(subject_id) if subject_id else None,
        since=datetime.fromisoformat(since) if since else None,
        limit=limit,
    )
    database = open_database()
    with database.session() as session:
        rows = access.read(session, wanted)
    table = Table("at", "username", "route", "table", "ids", "fields", "request id")
    for row in rows:
        ids = row.subject_ids.strip(",")
        shown = ids if len(ids) <= 60 else f"{ids[:57]}... ({row.subject_count})"
        table.add_row(
            row.at.isoformat(timespec="seconds"), row.username, f"{row.method} {row.route}",
            row.subject_table, shown, row.fields, row.request_id,
        )  # fmt: skip
    console.print(table)
    database.dispose()

"""`fengqiao open311 …`: what the operators want to know about the Open311 endpoint."""

from __future__ import annotations

from typing import Annotated

import typer

from fengqiao.cli_support import console, open_database

open311_app = typer.Typer(help="Open311 GeoReport v2 (/open311/v2/).", no_args_is_help=True)


@open311_app.command("stats")
def open311_stats(
    days: Annotated[
        int, typer.Option(min=1, max=366, help="Local days back, today included.")
    ] = 30,
) -> None:
    """Print the requests filed and the refusals by reason over the last DAYS local days (the
    same counts as GET /api/v1/open311/stats)."""
    from rich.table import Table

    from fengqiao.clock import Clock
    from fengqiao.open311.service import refusal_stats

    with open_database().session() as session:
        stats = refusal_stats(db=session, now=Clock().now(), days=days)
    console.print(f"Open311 since {stats['since']}: {stats['requests_filed']} requests filed")
    table = Table("reason", "count", "meaning")
    for row in stats["refusals"]:
        table.add_row(row["reason"], str(row["count"]), row["meaning"])
    console.print(table if stats["refusals"] else "no refusals")

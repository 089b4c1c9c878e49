"""`fengqiao analytics …`: rebuild, check and count the rollups behind the charts."""

from __future__ import annotations

import time

import typer

from fengqiao.cli_support import console, err_console, open_database

analytics_app = typer.Typer(help="Rollups behind the charts (研判).", no_args_is_help=True)


@analytics_app.command("rebuild")
def analytics_rebuild() -> None:
    """Recompute every rollup from the events (after a bulk load or a restore)."""
    from fengqiao.analytics.rollups import rebuild

    started = time.perf_counter()
    report = rebuild(open_database())
    console.print(
        f"rebuilt the rollups of {report.events} events in {time.perf_counter() - started:.1f} s"
    )
    for name, rows in report.rows.items():
        console.print(f"  rollup_{name}: {rows} rows")


@analytics_app.command("check")
def analytics_check() -> None:
    """Compare the stored rollups with a recomputation from the events; exit 1 on a difference."""
    from fengqiao.analytics.rollups import compare

    with open_database().engine.connect() as connection:
        differences = compare(connection)
    if not differences:
        console.print("the rollups agree with the events")
        return
    for name, problems in differences.items():
        err_console.print(f"rollup_{name}: {len(problems)} rows differ, e.g. {problems[0]}")
    raise typer.Exit(1)


@analytics_app.command("status")
def analytics_status() -> None:
    """Rows of each rollup against the events (how much smaller each is)."""
    from sqlalchemy import func, select

    from fengqiao.analytics.rollups import row_counts
    from fengqiao.events.models import Event

    with open_database().engine.connect() as connection:
        events = connection.execute(select(func.count()).select_from(Event)).scalar_one()
        counts = row_counts(connection)
    console.print(f"events: {events}")
    for name, rows in counts.items():
        ratio = f"{events / rows:.1f}x smaller" if rows else "empty"
        console.print(f"  rollup_{name}: {rows} rows ({ratio})")

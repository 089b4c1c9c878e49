"""`fengqiao warnings …`: run the early-warning detectors now, or replay them over a span."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from fengqiao.cli_support import console, load_settings, open_database, parse_now, progress_bar

warnings_app = typer.Typer(help="Early warnings (预警).", no_args_is_help=True)


@warnings_app.command("run")
def warnings_run(
    now: Annotated[
        str | None,
        typer.Option(help="Run as if it were this moment, e.g. 2026-12-01T09:00+08:00."),
    ] = None,
) -> None:
    """Look for early warnings now (or as at --now), whenever the last run was, and print how
    many new ones of each kind were stored and pushed."""
    from dataclasses import replace

    from fengqiao.warnings.service import WarningRules, run_detectors

    rules = replace(WarningRules.from_settings(load_settings()), interval_minutes=0.0)
    counts = run_detectors(database=open_database(), now=parse_now(now), rules=rules)
    console.print(", ".join(f"{kind} {n}" for kind, n in counts.items()))


@warnings_app.command("replay")
def warnings_replay(
    start: Annotated[str, typer.Option("--from", help="First run, e.g. 2026-01-01T00:00+08:00.")],
    end: Annotated[str | None, typer.Option("--to", help="Last run (default: now).")] = None,
    step_hours: Annotated[float, typer.Option(help="Hours between runs.")] = 24.0,
    anomalies: Annotated[
        Path | None,
        typer.Option(help="Planted anomalies to score against (default: var/demo-anomalies.json)."),
    ] = None,
) -> None:
    """Run the warnings job at every step of a span, as a worker would have, then score the
    warnings against the demo's planted anomalies: recall and false alarms per week."""
    from datetime import timedelta

    from fengqiao.warnings.evaluate import replay, score, stored_warnings
    from fengqiao.warnings.service import WarningRules

    settings = load_settings()
    database = open_database()
    first, last = parse_now(start), parse_now(end)
    with progress_bar() as progress:
        task = progress.add_task("warnings", total=1)
        counts = replay(
            database=database, start=first, end=last, step=timedelta(hours=step_hours),
            rules=WarningRules.from_settings(settings),
            progress=lambda done, total: progress.update(task, completed=done, total=total),
        )  # fmt: skip
    console.print(f"new warnings: {dict(counts)}")
    path = anomalies or settings.data_dir / "demo-anomalies.json"
    if not path.exists():
        console.print(f"no planted anomalies at {path}: nothing to score")
        return
    result = score(json.loads(path.read_text(encoding="utf-8")), stored_warnings(database))
    weeks = max((last - first).total_seconds() / (7 * 86400), 1e-9)
    table = Table("kind", "planted", "found", "warnings", "not planted", "not planted / week")
    for row in result.rows(weeks):
        table.add_row(*(str(v) for v in row))
    console.print(table)
    for missed in result.missed:
        console.print(f"missed: {missed}")

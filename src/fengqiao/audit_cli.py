"""`fengqiao audit …`: check the tamper-evident trail of every event.

At the top layer, beside the root CLI: it reads `fengqiao.events`, which no domain below may.
"""

from __future__ import annotations

import typer
from sqlalchemy import func, select

from fengqiao.cli_support import console, err_console, open_database, progress_bar

audit_app = typer.Typer(help="The tamper-evident event trail.", no_args_is_help=True)


@audit_app.command("verify")
def audit_verify() -> None:
    """Check the SHA-256 chain of every event's trail; exit 1 at the first broken link."""
    from fengqiao.events.models import Event
    from fengqiao.events.trail import verify_all

    database = open_database()
    with database.session() as session, progress_bar() as progress:
        total = session.scalar(select(func.count()).select_from(Event)) or 0
        task = progress.add_task("trails", total=total)
        broken = None
        checked = 0
        for checked, link in verify_all(session):
            progress.update(task, completed=checked)
            if link is not None:
                broken = link
                break
    if broken is not None:
        err_console.print(
            f"[red]留痕链已断开 / broken trail[/red]: event {broken.event_code} "
            f"(id {broken.event_id}): {broken.reason}"
        )
        raise typer.Exit(1)
    console.print(f"all {checked} event trails verify")

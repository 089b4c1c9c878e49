"""`fengqiao cameras …`: load the camera registry from CSV."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, err_console, load_settings, open_database, problems_exit
from fengqiao.org.cli import system_principal

cameras_app = typer.Typer(help="The camera registry (视频监控).", no_args_is_help=True)


@cameras_app.command("import")
def cameras_import(
    file: Annotated[Path, typer.Argument(help="CSV file (UTF-8 or GB18030), or - for stdin.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and report, write nothing.")
    ] = False,
) -> None:
    """Import cameras from CSV: good rows are created or updated by GB/T 28181 id, bad rows are
    listed with row, field and reason. Exit 2 when some rows were refused."""
    from fengqiao.cameras.importer import decode_csv, import_cameras
    from fengqiao.clock import Clock
    from fengqiao.geo.service import GridLocator

    data = sys.stdin.buffer.read() if str(file) == "-" else file.read_bytes()
    database = open_database()
    with problems_exit(), database.session(write=True) as session:
        locator = GridLocator(check_seconds=0)
        locator.refresh(session)
        report = import_cameras(
            db=session,
            text=decode_csv(data),
            locator=locator,
            principal=system_principal(session),
            divisions=load_settings().camera_divisions,
            now=Clock().now(),
            dry_run=dry_run,
        )
        if dry_run:
            session.rollback()
        else:
            session.commit()
    for error in report.errors:
        err_console.print(
            f"row {error.row} {error.code or '-'} {error.field}: {error.reason_zh} / {error.reason}",
            markup=False,
        )
    verb = "would import" if dry_run else "imported"
    console.print(
        f"{verb}: {report.rows} rows, {report.created} created, {report.updated} updated, "
        f"{report.unchanged} unchanged, {report.refused} refused"
    )
    if report.refused:
        raise typer.Exit(2)

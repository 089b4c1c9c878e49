"""`fengqiao grids …`: which grid, village and town a point lies in."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from fengqiao.cli_support import console, open_database, problems_exit

grids_app = typer.Typer(help="Grid lookups.", no_args_is_help=True)


@grids_app.command("locate")
def grids_locate(
    lat: float,
    lng: float,
    crs: Annotated[str, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09.")] = "wgs84",
) -> None:
    """Print the grid, village and town of a point."""
    from fengqiao.geo.service import GridLocator

    locator = GridLocator(check_seconds=0)
    with problems_exit(), open_database().session() as session:
        locator.refresh(session)
        place = locator.locate(lng, lat, crs.lower())
    console.print_json(json.dumps(place.as_dict(), ensure_ascii=False))

"""The grid locator as a request dependency."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool

from fengqiao.db import Database
from fengqiao.geo.service import GridLocator


async def ready_locator(request: Request) -> GridLocator:
    """The grid locator, checked against the stored grids at most every few seconds."""
    locator: GridLocator = request.app.state.locator
    if locator.needs_check():
        await run_in_threadpool(_refresh_locator, locator, request.app.state.db)
    return locator


def _refresh_locator(locator: GridLocator, database: Database) -> None:
    with database.session() as session:
        locator.refresh(session)


Locator = Annotated[GridLocator, Depends(ready_locator)]

"""`fengqiao services …`: import, export and search the service catalogue (最多跑一次), and check
the proxy requests' trails."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, err_console, open_database, problems_exit

services_app = typer.Typer(
    help="The service catalogue (最多跑一次) and proxy requests (代办).", no_args_is_help=True
)


@services_app.command("import")
def services_import(
    file: Annotated[
        Path | None, typer.Argument(help="items JSON; default: the shipped items.json.")
    ] = None,
) -> None:
    """Add new item codes and update known ones in place (nothing is deleted); a bad entry
    refuses the whole file and stores nothing."""
    from fengqiao.catalogue.service import import_items, load_items
    from fengqiao.clock import Clock

    with problems_exit(), open_database().transaction() as session:
        result = import_items(db=session, data=load_items(file), now=Clock().now())
    console.print(f"service items: {result.created} added, {result.updated} updated")


@services_app.command("export")
def services_export(
    file: Annotated[Path | None, typer.Argument(help="Where to write (default: stdout).")] = None,
) -> None:
    """Write the whole catalogue (withdrawn items too) in the import format, to edit and import."""
    from sqlalchemy import select

    from fengqiao.catalogue.models import ServiceItem
    from fengqiao.catalogue.service import item_in

    with open_database().session() as session:
        items = session.scalars(select(ServiceItem).order_by(ServiceItem.code))
        data = {"version": 1, "items": [item_in(item).model_dump() for item in items]}
    text = json.dumps(data, ensure_ascii=False, indent=1) + "\n"
    if file is None:
        typer.echo(text, nl=False)
    else:
        file.write_text(text, encoding="utf-8")


@services_app.command("search")
def services_search(
    query: Annotated[str, typer.Argument(help="Words to find, e.g. 社保 or 居住证.")],
    limit: Annotated[int, typer.Option(min=1, max=500, help="Most items to print.")] = 20,
) -> None:
    """Search the active items as the public catalogue does, best first."""
    from rich.table import Table

    from fengqiao.catalogue.search import mode_of, search
    from fengqiao.catalogue.service import levels_of, limit_text

    with open_database().session() as session:
        hits, total = search(session, query, limit=limit)
        mode = mode_of(session, query)
        table = Table("code", "name", "levels", "limit", "fee", "unit")
        for hit in hits:
            item = hit.item
            table.add_row(
                item.code, item.name, ",".join(levels_of(item)),
                limit_text(item.time_limit_days), item.fee, item.unit_name,
            )  # fmt: skip
    console.print(table)
    console.print(f"{total} found ({mode})")


@services_app.command("verify")
def services_verify() -> None:
    """Check the SHA-256 chain of every proxy request's trail; exit 1 at a broken one."""
    from sqlalchemy import select

    from fengqiao.catalogue.models import ProxyRequest
    from fengqiao.catalogue.proxy import verify_trail

    checked = 0
    with open_database().session() as session:
        for request in session.scalars(select(ProxyRequest).order_by(ProxyRequest.id)):
            reason = verify_trail(session, request)
            if reason is not None:
                err_console.print(f"[red]{request.code}: {reason}[/red]")
                raise typer.Exit(1)
            checked += 1
    console.print(f"{checked} proxy request trails verified")

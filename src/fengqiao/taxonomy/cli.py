"""`fengqiao taxonomy …`: load the event classes, routing rules and SLA policies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, open_database, problems_exit

taxonomy_app = typer.Typer(help="Event classes, routing rules, SLA policies.", no_args_is_help=True)


@taxonomy_app.command("import")
def taxonomy_import(
    file: Annotated[
        Path | None, typer.Argument(help="categories JSON; default: the file shipped.")
    ] = None,
    replace_rules: Annotated[
        bool, typer.Option("--replace-rules", help="Replace the routing rules by the shipped ones.")
    ] = False,
) -> None:
    """Load the 10 major and 42 minor classes (update in place by code), and the shipped routing
    rules and SLA policies when there are none yet."""
    from fengqiao.taxonomy.service import import_taxonomy, load_file

    with problems_exit(), open_database().transaction() as session:
        data = load_file(file) if file else None
        report = import_taxonomy(db=session, categories=data, replace_rules=replace_rules)
    console.print(
        f"taxonomy: {report.majors} major classes, {report.categories} classes, "
        f"{report.rules} routing rules, {report.policies} SLA policies"
    )

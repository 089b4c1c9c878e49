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


@taxonomy_app.command("feedback-photo")
def taxonomy_feedback_photo(
    code: Annotated[str, typer.Argument(help="Class code, e.g. 0101.")],
    required: Annotated[
        bool,
        typer.Option(
            "--required/--optional",
            help="Whether 反馈 on this class's events needs a photo of the handling.",
        ),
    ],
) -> None:
    """Say whether 反馈 (feedback) on events of one class needs at least one photo of the
    handling (on for every class by default)."""
    from fengqiao.taxonomy.service import update_category

    with problems_exit(), open_database().transaction() as session:
        category = update_category(
            db=session, code=code, changes={"feedback_photo_required": required}
        )
        name = category.name_zh
    word = "required" if required else "optional"
    console.print(f"taxonomy: class {code} ({name}): a photo with feedback is {word}")

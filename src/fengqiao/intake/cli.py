"""`fengqiao intake …`: load and show the business modules and the classes' extra questions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from fengqiao.cli_support import console, open_database, problems_exit

intake_app = typer.Typer(
    help="Business modules (民情通, 食安通, 智慧安监, 河长通) and extra questions per class.",
    no_args_is_help=True,
)


@intake_app.command("import")
def intake_import(
    file: Annotated[
        Path | None, typer.Argument(help="modules JSON; default: the file shipped.")
    ] = None,
) -> None:
    """Insert or update the modules and replace the questions of every class the file names;
    nothing is written when any entry is wrong."""
    from fengqiao.intake.service import import_intake

    with problems_exit(), open_database().transaction() as session:
        data = json.loads(file.read_text(encoding="utf-8")) if file else None
        report = import_intake(db=session, data=data)
    console.print(f"intake: {report.modules} modules, {report.questions} questions")


@intake_app.command("show")
def intake_show() -> None:
    """Print each module with its classes and checklist, and each class's extra questions."""
    from fengqiao.intake.service import list_modules
    from fengqiao.taxonomy.intakes import class_intakes

    with open_database().session() as session:
        for module in list_modules(db=session):
            console.print(f"[bold]{module.code}[/bold] {module.name_zh}: "
                          f"{', '.join(module.categories)}")  # fmt: skip
            for item in module.checklist or []:
                console.print(f"  ☐ {item['code']}: {item['text']} → {item['category']}")
        for code, intake in class_intakes(session).items():
            asked = ", ".join(
                f"{q.code}({q.datatype}{', required' if q.required else ''})"
                for q in intake.questions
            )
            console.print(f"{code} [{' '.join(intake.keywords)}] {asked}")

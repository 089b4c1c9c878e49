"""Documentation keeps up with the code: every setting, CLI command and API route is described."""

from __future__ import annotations

import json
import re
from pathlib import Path

import typer

from fengqiao.app import create_app
from fengqiao.cli import app as cli_app
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.org.importer import import_tree

DOCS = Path(__file__).resolve().parent.parent / "docs"


def test_every_setting_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    missing = [name for name in Settings.model_fields if f"`FENGQIAO_{name.upper()}`" not in text]
    assert missing == []


def _commands(app: typer.Typer, prefix: str) -> list[str]:
    names = [
        f"{prefix} {c.name or (c.callback.__name__ if c.callback else '')}".strip()
        for c in app.registered_commands
    ]
    for group in app.registered_groups:
        assert group.typer_instance is not None
        names += _commands(group.typer_instance, f"{prefix} {group.name}")
    return names


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text(encoding="utf-8")
    commands = _commands(cli_app, "fengqiao")
    assert len(commands) >= 10
    missing = [c.replace("_", "-") for c in commands if f"`{c.replace('_', '-')}" not in text]
    assert missing == []


def test_every_api_route_is_documented() -> None:
    text = (DOCS / "api.md").read_text(encoding="utf-8")
    documented = set(re.findall(r"`(GET|POST|PATCH|PUT|DELETE) ([^`?\[ ]+)", text))
    routes = {
        (method.upper(), path)
        for path, operations in create_app(Settings(database_url="sqlite://", secret_key="k"))
        .openapi()["paths"]
        .items()
        for method in operations
    }
    assert routes - documented == set()


def test_the_import_example_imports(fresh_db: Database) -> None:
    text = (DOCS / "org-import.md").read_text(encoding="utf-8")
    example = text.split("## Example", 1)[1].split("```json", 1)[1].split("```", 1)[0]
    with fresh_db.transaction() as session:
        report = import_tree(
            db=session, data=json.loads(example), settings=Settings(secret_key="k")
        )
    assert report.created == 4

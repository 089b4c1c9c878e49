"""`fengqiao docs …`: documentation generated from the code, at the top so it may read any domain."""

from __future__ import annotations

import sys

import typer

docs_app = typer.Typer(help="Documentation generated from the code.", no_args_is_help=True)


@docs_app.command("workflow")
def docs_workflow() -> None:
    """Print the transition table of the closed loop as Markdown (docs/workflow.md holds it)."""
    from fengqiao.events.workflow import workflow_markdown

    sys.stdout.write(workflow_markdown())

"""What every `fengqiao` sub-command shares: the consoles, settings, database, refusals, progress.

Base layer: it imports only base modules, so every domain's `cli.py` can use it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings, get_settings
from fengqiao.db import Database, normalise_url
from fengqiao.errors import Problem

console = Console()
err_console = Console(stderr=True)


def load_settings() -> Settings:
    """The settings of this process (environment and .env), read once."""
    return get_settings()


def open_database() -> Database:
    """The configured database, with the configured busy timeout."""
    settings = load_settings()
    return Database(
        settings.database_url,
        busy_timeout_ms=settings.sqlite_busy_timeout_ms,
        pgbouncer=settings.database_pgbouncer,
    )


@contextmanager
def problems_exit() -> Iterator[None]:
    """Print a refusal in both languages and exit 1 instead of a traceback."""
    try:
        yield
    except Problem as problem:
        err_console.print(f"[red]{problem.title_zh} / {problem.title}[/red]")
        err_console.print(f"{problem.detail_zh}\n{problem.detail}")
        for error in problem.errors:
            err_console.print(f"  - {error.field}: {error.reason_zh} / {error.reason}")
        raise typer.Exit(1) from None


def progress_bar() -> Progress:
    """A progress display on standard error, so standard output stays the command's result."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=err_console,
    )


def safe_url(url: str) -> str:
    """A database URL fit to print: the password hidden."""
    return normalise_url(url).render_as_string(hide_password=True)


def parse_now(value: str | None) -> datetime:
    """An ISO time with its offset (`2026-12-01T09:00+08:00`); a bare one is Beijing time."""
    if value is None:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        err_console.print(
            f"[red]时间格式错误 / bad time[/red] {value!r}: use ISO 8601, e.g. 2026-12-01T09:00+08:00"
        )
        raise typer.Exit(2) from None
    return (at if at.tzinfo else at.replace(tzinfo=LOCAL_TZ)).astimezone(UTC)

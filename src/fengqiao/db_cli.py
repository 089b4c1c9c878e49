"""`fengqiao db …`: migrate the database schema and say which revision it is at."""

from __future__ import annotations

import typer

from fengqiao.cli_support import console, load_settings, open_database, safe_url

db_app = typer.Typer(help="Database schema.", no_args_is_help=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database to the newest schema (or to REVISION)."""
    from fengqiao.migrate import upgrade

    url = load_settings().database_url
    upgrade(url, revision)
    console.print(f"database at {revision}: {safe_url(url)}")


@db_app.command("current")
def db_current() -> None:
    """Print the database's migration revision and the newest one."""
    from fengqiao.migrate import current_revision, head_revision

    database = open_database()
    console.print(f"current: {current_revision(database.engine)}  head: {head_revision()}")

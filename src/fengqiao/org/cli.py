"""`fengqiao org …`: import and export the administrative tree; the operator's principal."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.cli_support import (
    console,
    err_console,
    load_settings,
    open_database,
    problems_exit,
)
from fengqiao.scope import Principal

org_app = typer.Typer(help="The administrative tree.", no_args_is_help=True)


def system_principal(session: Session) -> Principal:
    """The whole district, for commands run by the machine's operator."""
    from fengqiao.org.models import OrgUnit

    root = session.execute(
        select(OrgUnit.id, OrgUnit.path)
        .where(OrgUnit.parent_id.is_(None))
        .order_by(OrgUnit.id)
        .limit(1)
    ).first()
    if root is None:
        err_console.print(
            "[red]数据库为空 / the database holds no org tree yet (fengqiao seed or org import)[/red]"
        )
        raise typer.Exit(1)
    return Principal(0, "system", "system", frozenset({"admin"}), root.id, root.path)


@org_app.command("import")
def org_import(
    file: Annotated[Path, typer.Argument(help="GeoJSON FeatureCollection (or - for stdin).")],
    crs: Annotated[str | None, typer.Option(help="wgs84, cgcs2000, gcj02 or bd09.")] = None,
) -> None:
    """Import org units from GeoJSON: every feature is checked, and nothing is written if one is bad."""
    from fengqiao.org.importer import import_tree
    from fengqiao.org.service import GRIDS_COUNTER, bump_counter

    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        err_console.print(f"[red]不是合法的 JSON / not valid JSON[/red]: {exc}")
        raise typer.Exit(1) from None
    with problems_exit(), open_database().transaction() as session:
        report = import_tree(db=session, data=data, settings=load_settings(), crs=crs)
        bump_counter(db=session, name=GRIDS_COUNTER)
    kinds = ", ".join(f"{n} {k}" for k, n in report.by_kind.items())
    console.print(f"imported: {report.created} created, {report.updated} updated ({kinds})")


@org_app.command("export")
def org_export(
    out: Annotated[
        Path | None, typer.Option(help="File to write; default standard output.")
    ] = None,
    root: Annotated[str | None, typer.Option(help="Code of the subtree to export.")] = None,
) -> None:
    """Export the tree (or a subtree) as GeoJSON in the import format."""
    from fengqiao.org.importer import export_tree
    from fengqiao.org.models import OrgUnit

    with open_database().session() as session:
        path = "/"
        if root:
            found = session.scalar(select(OrgUnit.path).where(OrgUnit.code == root))
            if found is None:
                err_console.print(f"[red]不存在编码 {root} / no org unit {root}[/red]")
                raise typer.Exit(1)
            path = found
        collection = export_tree(db=session, root_path=path)
    text = json.dumps(collection, ensure_ascii=False)
    if out:
        out.write_text(text, encoding="utf-8")
        err_console.print(f"wrote {len(collection['features'])} features to {out}")
    else:
        sys.stdout.write(text + "\n")

"""Moving a stored root district under its city: one prefix replace per materialised-path column.

Every table keeps copies of org paths ("/district/town/village/grid/") for scoped reads: the org
tree's own `path`, and `org_path`, `grid_path`, `home_path`, `town_path` elsewhere. When a
district-only database grows a province and city above it, each of those columns gets one
UPDATE replacing the old prefix with the new one, in the caller's transaction.
"""

from __future__ import annotations

import importlib

from sqlalchemy import String, Table, func, literal, update
from sqlalchemy.orm import Session

from fengqiao.db import Base


def path_columns() -> list[tuple[Table, str]]:
    """(table, column) of every materialised org path the schema holds."""
    # Every model registers its table on import; a CLI import may not have loaded them all.
    importlib.import_module("fengqiao.models")
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if (
                isinstance(column.type, String)
                and (column.name == "path" or column.name.endswith("_path"))
                and (table.name == "org_unit" or column.name != "path")
            ):
                found.append((table, column.name))
    return found


def reroot(*, db: Session, old_prefix: str, new_prefix: str) -> dict[str, int]:
    """Replace `old_prefix` by `new_prefix` in every path column; rows changed per column."""
    if not (old_prefix.startswith("/") and old_prefix.endswith("/")):
        raise ValueError("a path prefix starts and ends with /")
    changed: dict[str, int] = {}
    cut = len(old_prefix) + 1
    for table, name in path_columns():
        column = table.c[name]
        result = db.execute(
            update(table)
            .where(column.startswith(old_prefix, autoescape=True))
            .values({name: literal(new_prefix) + func.substr(column, cut)})
            .execution_options(synchronize_session=False)
        )
        changed[f"{table.name}.{name}"] = result.rowcount  # type: ignore[attr-defined]
    return changed

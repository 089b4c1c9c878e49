"""Every sortable column of the event list reads its first page by walking an index in order:
no scan of the events table and no sort of its rows, for a district operator (no area
condition) and for a town operator, on both backends (the 1.1 M figure rests on it:
docs/benchmarks.md, "The event list sorted")."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import event, select

from fengqiao.db import Database
from fengqiao.events import queries
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from tests.conftest import KEQIAO_GROUP, KEQIAO_NOW, Keqiao

NOW = KEQIAO_NOW
# The index each sort's first segment walks: (district, town operator).
INDEXES = {
    "created_at": ({"ix_event_created"}, {"ix_event_town_created"}),
    "category": ({"ix_event_sort_category"}, {"ix_event_town_sort_category"}),
    "status": ({"ix_event_sort_status"}, {"ix_event_town_sort_status"}),
    # PostgreSQL may walk the open deadlines with the id in order (migration 0024, PostgreSQL
    # only), for a town too (filtering the town) where it finds few open rows ahead.
    "urgency": (
        {"ix_event_open_due", "ix_event_open_due_id"},
        {"ix_event_open_town_due", "ix_event_open_due_id"},
    ),
    "due_at": ({"ix_event_sort_due"}, {"ix_event_town_sort_due"}),
    "unit": ({"ix_event_sort_unit"}, {"ix_event_town_sort_unit"}),
    # Within one town the order is the id's: PostgreSQL may walk the primary key instead.
    "town": ({"ix_event_sort_town"}, {"ix_event_sort_town", "ix_event_town_created", "pk_event"}),
}


def _statements(database: Database, principal: Principal, sort: str) -> list[tuple[str, Any]]:
    """The page queries `queries.page` sends for the first page of `sort`."""
    seen: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM event" in sql and not sql.startswith("EXPLAIN"):
            seen.append((sql, params))

    with database.session() as db:
        event.listen(database.engine, "before_cursor_execute", grab)
        try:
            queries.page(db, queries.EventFilters(), principal, NOW, sort=sort, size=50)
        finally:
            event.remove(database.engine, "before_cursor_execute", grab)
    return seen


def _plan(database: Database, sql: str, params: Any) -> str:
    with database.engine.connect() as conn:
        if database.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            return "\n".join(str(r[-1]) for r in rows)
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}", params))


# PostgreSQL may sort a handful of rows it found by index (a town's few late events) rather than
# walk the index in order; it never sorts more than this many.
SMALL_SORT_ROWS = 5000


def _sorts_or_scans(plan: str) -> bool:
    """True when the plan reads the whole table, or sorts rows instead of walking an index in
    order (on PostgreSQL: sorts more than a handful)."""
    for line in (line.strip() for line in plan.splitlines()):
        if line.startswith("SCAN event") and " USING " not in line:
            return True  # SQLite: the whole table
        if "TEMP B-TREE" in line or "Seq Scan on event " in f"{line} ":
            return True
        sort = re.match(r"(?:->\s*)?(?:Incremental )?Sort\s+\(.*?rows=(\d+)", line)
        if sort and int(sort.group(1)) > SMALL_SORT_ROWS:
            return True
    return False


@KEQIAO_GROUP
def test_every_sort_reads_its_first_page_from_an_index(keqiao: Keqiao) -> None:
    fresh_db = keqiao.database
    with fresh_db.session() as db:
        district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district")) or 0
        town = db.scalar(select(Event.town_id).limit(1)) or 0
    operators = (
        Principal(1, "op", "op", frozenset({"operator"}), district, f"/{district}/"),
        Principal(2, "top", "top", frozenset({"operator"}), town, f"/{district}/{town}/"),
    )
    keys = {sort.lstrip("-") for sort in queries.SORTS} - {"updated_at"}
    assert keys == {key for key in INDEXES if not key.startswith("-")}
    for key in sorted(keys):
        for sort in (key, f"-{key}"):
            expected = INDEXES.get(sort, INDEXES[key])
            for principal, indexes in zip(operators, expected, strict=True):
                statements = _statements(fresh_db, principal, sort)
                assert statements, sort
                sql, params = statements[0]
                plan = _plan(fresh_db, sql, params)
                where = f"sort={sort} as {principal.username}"
                assert any(index in plan for index in indexes), f"{where}: not {indexes}\n{plan}"
                assert not _sorts_or_scans(plan), f"{where}: scans or sorts\n{sql}\n{plan}"

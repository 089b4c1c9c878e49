"""The command room's reads find their rows by index: none walks the events table, whatever
the area, so a panel read stays cheap when the cache has to read it again."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from sqlalchemy import event, select
from sqlalchemy.orm import Session

from fengqiao.command import alarms, service
from fengqiao.db import Database
from fengqiao.events.models import Event
from fengqiao.events.queries import EventFilters, change_mark, page
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from tests.conftest import KEQIAO_GROUP, KEQIAO_NOW, Keqiao

NOW = KEQIAO_NOW


def _plans(database: Database, read: Any) -> list[tuple[str, str]]:
    """(SQL, plan) of every statement `read(db)` sends that touches the events or the trail."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if " event" in sql and not sql.startswith("EXPLAIN"):
            captured.append((sql, params))

    event.listen(database.engine, "before_cursor_execute", grab)
    try:
        with database.session() as db:
            read(db)
    finally:
        event.remove(database.engine, "before_cursor_execute", grab)
    plans = []
    with database.engine.connect() as conn:
        for sql, params in captured:
            if database.is_sqlite:
                rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
                plans.append((sql, "\n".join(str(r[-1]) for r in rows)))
            else:
                rows = conn.exec_driver_sql(f"EXPLAIN {sql}", params).all()
                plans.append((sql, "\n".join(r[0] for r in rows)))
    return plans


SEQ_SCAN = re.compile(r"Seq Scan on event(?:_log\S*)? .*\(cost=[\d.]+\.\.([\d.]+) ")
TINY_SCAN_COST = 50.0


def _walks_a_table(plan: str) -> bool:
    lines = plan.splitlines()
    sqlite_scan = any(
        line.strip().startswith(("SCAN event", "SCAN event_log")) and " USING " not in line
        for line in lines
    )
    # On PostgreSQL the trail is partitioned by month (migration 0040): a month barely begun (an
    # empty or nearly empty partition, costed a few pages) is read whole for less than an index
    # probe costs, and is no walk of the trail.
    return sqlite_scan or any(
        (found := SEQ_SCAN.search(line)) is not None and float(found[1]) >= TINY_SCAN_COST
        for line in lines
    )


@KEQIAO_GROUP
def test_the_panel_the_layer_and_the_change_mark_read_by_index(keqiao: Keqiao) -> None:
    fresh_db = keqiao.database
    with fresh_db.session() as db:
        district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
        town = db.scalar(select(Event.town_id).limit(1))
        unit = db.scalar(select(Event.owner_unit_id).where(Event.owner_unit_id.is_not(None)))
    principals = [
        Principal(1, "op", "op", frozenset({"operator"}), district or 0, f"/{district}/"),
        Principal(2, "top", "top", frozenset({"operator"}), town or 0, f"/{district}/{town}/"),
        # A handler reads their unit's events and those they acted on (the trail by actor).
        Principal(3, "h", "h", frozenset({"handler"}), town or 0, f"/{district}/{town}/", unit),
    ]
    reads: list[Callable[[Session], Any]] = [change_mark]
    for principal in principals:
        reads += [
            partial(service.situation, principal=principal, now=NOW),
            partial(service.event_points, principal=principal, now=NOW),
            partial(page, filters=EventFilters(), principal=principal, now=NOW),
            # The alarms waiting for 接警 (the live stream's and the dialog's reads).
            partial(alarms.waiting, principal=principal, now=NOW),
            partial(alarms.waiting_in_full, principal=principal, now=NOW),
        ]
    reads.append(partial(alarms.due_to_climb, now=NOW, after=timedelta(minutes=5), limit=500))
    checked = 0
    for read in reads:
        for sql, plan in _plans(fresh_db, read):
            assert not _walks_a_table(plan), f"walks the table:\n{sql}\n{plan}"
            checked += 1
    assert checked >= 22

"""GET requests reads the narrow Open311 table by time and each event by its key, whatever the
filters: the event table holds a district's year (1.1 M rows), Open311 a small share of it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from fengqiao.clock import LOCAL_TZ
from fengqiao.open311.parsing import RequestQuery
from fengqiao.open311.service import hidden_codes, id_lookups, list_requests
from fengqiao.open311.updates import list_updates
from fengqiao.taxonomy.snapshot import load_rules
from tests.conftest import BoundDatabase

END = datetime(2026, 12, 1, 9, 0, tzinfo=LOCAL_TZ)


def _plan(bound: BoundDatabase, query: RequestQuery) -> str:
    """SQLite's plan of the page query `list_requests` sends."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM open311_request JOIN event" in sql:
            captured.append((sql, params))

    event.listen(bound.connection, "before_cursor_execute", grab)
    try:
        with bound.session() as db:
            rules = load_rules(db)
            # The default hidden classes: their filter must not change how the page is read.
            hidden = hidden_codes(rules, ["02", "03"])
            list_requests(db=db, rules=rules, query=query, hidden=hidden)
    finally:
        event.remove(bound.connection, "before_cursor_execute", grab)
    ((sql, params),) = captured
    rows = bound.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    return " | ".join(str(row[-1]) for row in rows)


@pytest.mark.parametrize(
    "filters",
    [
        {},
        {"service_codes": ("0701", "0702")},
        {"statuses": ("open",)},
        {"statuses": ("closed",), "service_codes": ("0701",)},
    ],
)
def test_the_list_walks_the_open311_index_by_time(
    bound: BoundDatabase, seeded: Any, filters: dict[str, Any]
) -> None:
    if seeded.backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    query = RequestQuery(start=END - timedelta(days=90), end=END, **filters)
    plan = _plan(bound, query)
    assert "USING INDEX ix_open311_request_created (created_at>? AND created_at<?)" in plan, plan
    assert "SEARCH event USING INTEGER PRIMARY KEY (rowid=?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan  # the index gives the order


def test_ids_are_found_by_public_id_and_by_event_code(bound: BoundDatabase, seeded: Any) -> None:
    if seeded.backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    by_public, by_code = id_lookups(("R7K3M9X2PQA4", "001-20261201-0002"))
    plans = []
    for statement in (by_public, by_code):
        compiled = statement.compile(bound.connection, compile_kwargs={"literal_binds": True})
        rows = bound.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {compiled}").all()
        plans.append(" | ".join(str(row[-1]) for row in rows))
    assert "SEARCH open311_request USING" in plans[0] and "INDEX" in plans[0], plans
    assert "(public_id=?)" in plans[0], plans
    assert "SEARCH event USING" in plans[1] and "(code=?)" in plans[1], plans


def test_updates_walk_the_trail_by_time(bound: BoundDatabase, seeded: Any) -> None:
    """servicerequestupdates reads the window from the trail's time index, in its order, and
    each row's request and event by key (never every event's trail)."""
    if seeded.backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if "FROM event_log JOIN open311_request" in sql:
            captured.append((sql, params))

    event.listen(bound.connection, "before_cursor_execute", grab)
    try:
        with bound.session() as db:
            rules = load_rules(db)
            list_updates(
                db=db, rules=rules, secret=b"k", start=END - timedelta(days=1), end=END,
                hidden=hidden_codes(rules, ["02", "03"]), page=1, page_size=5000,
            )  # fmt: skip
    finally:
        event.remove(bound.connection, "before_cursor_execute", grab)
    ((sql, params),) = captured
    rows = bound.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
    plan = " | ".join(str(row[-1]) for row in rows)
    assert "SEARCH event_log USING INDEX ix_event_log_at (at>? AND at<?)" in plan, plan
    assert "TEMP B-TREE" not in plan, plan

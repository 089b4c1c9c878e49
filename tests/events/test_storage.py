"""Storage-level behaviour of events: codes unique under concurrent filing, idempotency under a
race, and the plans of the hot list queries."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, func, select

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.clock import FixedClock
from fengqiao.db import Database
from fengqiao.events import filing, queries
from fengqiao.events.filing import file_or_replay
from fengqiao.events.models import Event
from fengqiao.events.schemas import EventCreate
from fengqiao.geo.service import GridLocator
from fengqiao.supervision import sweeper
from fengqiao.taxonomy.snapshot import load_rules
from tests.conftest import KEQIAO_GROUP, KEQIAO_NOW, Keqiao

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)


def _setup(database: Database) -> tuple[Any, Any, Any, EventCreate]:
    from fengqiao.demo.seed import seed

    seed(db=database, scale="small", password="pw")
    locator = GridLocator(0)
    with database.session() as db:
        locator.refresh(db)
        rules = load_rules(db)
        user_id = db.scalar(select(User.id).where(User.username == "demo_district_operator"))
        assert user_id is not None
        principal = load_principal(db=db, user_id=user_id)
    index = locator.snapshot.index
    point = index.geometries[0].representative_point()
    data = EventCreate(
        source="hotline", category=sorted(rules.categories)[0], lat=point.y, lng=point.x
    )
    return locator, rules, principal, data


def _file(database: Database, locator: Any, rules: Any, principal: Any, data: EventCreate,
          key: str | None) -> tuple[str, bool]:  # fmt: skip
    place = locator.locate(data.lng, data.lat)
    with database.transaction() as db:
        event, _dups, created = file_or_replay(
            db=db, rules=rules, place=place, principal=principal, data=data, now=NOW,
            idempotency_key=key,
        )  # fmt: skip
        return event.code, created


def test_codes_stay_unique_when_many_file_at_once(fresh_db: Database) -> None:
    locator, rules, principal, data = _setup(fresh_db)
    with ThreadPoolExecutor(8) as pool:
        codes = list(
            pool.map(lambda _: _file(fresh_db, locator, rules, principal, data, None)[0], range(40))
        )
    assert len(set(codes)) == 40
    assert sorted(int(c.rsplit("-", 1)[1]) for c in codes) == list(range(1, 41))


def test_racing_retries_with_one_key_file_one_event(fresh_db: Database) -> None:
    locator, rules, principal, data = _setup(fresh_db)
    with ThreadPoolExecutor(6) as pool:
        results = list(
            pool.map(lambda _: _file(fresh_db, locator, rules, principal, data, "k1"), range(12))
        )
    assert len({code for code, _ in results}) == 1
    assert sum(created for _, created in results) == 1
    with fresh_db.session() as db:
        assert db.scalar(select(func.count()).select_from(Event)) == 1


def _plan(database: Database, statement: Any, params: dict[str, Any] | None = None) -> str:
    """The plan of `statement` exactly as the app sends it (bound parameters and all)."""
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        captured.append((sql, params))

    event.listen(database.engine, "before_cursor_execute", grab)
    try:
        with database.session() as db:
            db.execute(statement, params or {}).all()
    finally:
        event.remove(database.engine, "before_cursor_execute", grab)
    sql, params = captured[-1]
    with database.engine.connect() as conn:
        if database.is_sqlite:
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params).all()
            return "\n".join(str(r[-1]) for r in rows)
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {sql}", params))


@KEQIAO_GROUP
def test_hot_queries_use_their_indexes(keqiao: Keqiao) -> None:
    """In the 16-town district with some thousands of events and fresh statistics, each hot
    query picks its index."""
    from fengqiao.events.models import is_open
    from fengqiao.scope import Principal

    fresh_db = keqiao.database
    now = KEQIAO_NOW
    with fresh_db.session() as db:
        town = db.scalar(select(Event.town_id).limit(1))
        grid = db.scalar(select(Event.grid_id).limit(1))
        unit = db.scalar(
            select(Event.owner_unit_id).where(Event.owner_unit_id.is_not(None)).limit(1)
        )
    operator = Principal(1, "op", "op", frozenset({"operator"}), 1, "/1/")
    handler = Principal(2, "h", "h", frozenset({"handler"}), 1, "/1/", unit)

    def listing(principal: Principal, sort: Any = "-created_at", **filters: Any) -> Any:
        flt = queries.EventFilters(**filters)
        return queries.list_query(flt, principal, now, sort=sort, cursor=None).limit(51)

    # A town's list may also walk the newest-first index and skip other towns' rows (PostgreSQL
    # does at this size, one town in 16); either way no full scan and no sort.
    expectations = [
        (listing(operator, town=[town]), ("ix_event_town_created", "ix_event_created")),
        (listing(operator, grid=[grid]), ("ix_event_grid_created",)),
        (
            listing(operator, town=[town], overdue=True, sort="due_at"),
            ("ix_event_open_town_due", "ix_event_open_due"),
        ),
        (listing(handler, task="inbox"), ("ix_event_owner_status",)),
        (select(Event.id).where(is_open(), Event.due_at <= now), ("ix_event_open_due",)),
        # The sweeper's three probes read indexes of only the rows still owed that step.
        (sweeper.reminders_due(now, 500), ("ix_event_reminder_pending",)),
        (sweeper.overdue_due(now, 500), ("ix_event_overdue_pending",)),
        (sweeper.escalations_due(now, 500), ("ix_event_escalation_due",)),
    ]
    for statement, indexes in expectations:
        plan = _plan(fresh_db, statement)
        assert any(index in plan for index in indexes), f"none of {indexes} used:\n{plan}"
        assert "Seq Scan" not in plan and "SCAN event" not in plan.replace("SCAN event USING", "")
    # Likely duplicates: open events of the class in a band of latitude, then the circle.
    with fresh_db.session() as db:
        sample = db.execute(
            select(Event.category_code, Event.lat, Event.lng).where(is_open()).limit(1)
        ).one()
        duplicates = filing._statements(db).duplicates
    band = 0.001
    params = {
        "category": sample.category_code, "lat": sample.lat, "lng": sample.lng,
        "lng_scale": 0.87, "lat_low": sample.lat - band, "lat_high": sample.lat + band,
        "lng_low": sample.lng - band, "lng_high": sample.lng + band,
        "radius_squared": band * band, "since": now - timedelta(days=7), "event_id": 0,
        "limit": 10,
    }  # fmt: skip
    for statement, indexes in [(duplicates, ("ix_event_open_category_lat",))]:
        plan = _plan(fresh_db, statement, params)
        assert any(index in plan for index in indexes), f"none of {indexes} used:\n{plan}"
        assert "Seq Scan" not in plan and "SCAN event" not in plan.replace("SCAN event USING", "")


def test_a_clock_can_stand_still_and_move() -> None:
    clock = FixedClock(NOW)
    assert clock.now() == NOW
    with pytest.raises(ValueError):
        FixedClock(datetime(2026, 1, 1))

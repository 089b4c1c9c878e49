"""Ready to shard: every big row carries its district (migration 0040), on both backends —
the filing, the trail, the outbox, the rollup writer, and the small demo's positions."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from fengqiao.analytics.models import DAY_TABLES
from fengqiao.analytics.rollups import apply_pending
from fengqiao.events.models import Event, EventLog
from fengqiao.org.districts import district_from_path, district_of
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.patrol.models import Position

from .conftest import Desk


def _district(db: Session) -> int:
    found = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
    assert found is not None
    return found


def test_a_units_district_follows_from_its_kind_and_path() -> None:
    assert district_from_path(kind="grid", path="/1/5/77/301/") == 1
    assert district_from_path(kind="grid", path="/9/8/1/5/77/301/") == 1  # province, city above
    assert district_from_path(kind="town", path="/9/8/1/5/") == 1
    assert district_from_path(kind="district", path="/9/8/1/") == 1
    assert district_from_path(kind="city", path="/9/8/") is None


def test_filing_a_step_and_the_rollups_fill_district_id(
    desk: Desk, db: Session, bound: Any
) -> None:
    district = _district(db)
    filed = desk.file(urgent=True)
    event = db.get(Event, filed["id"])
    assert event is not None and event.district_id == district
    assert district_of(db, event.grid_id) == district
    desk.act(filed, "demo_operator", "accept")
    rows = db.execute(
        select(EventLog.district_id, EventLog.filed_at).where(EventLog.event_id == event.id)
    ).all()
    assert len(rows) >= 2
    assert all(row.district_id == district and row.filed_at == event.created_at for row in rows)
    messages = db.scalars(select(Outbox.district_id).where(Outbox.event_id == event.id)).all()
    assert messages and set(messages) == {district}
    db.commit()
    assert apply_pending(bound).events >= 1
    with bound.session() as session:
        for table in DAY_TABLES:
            kept = session.execute(
                text(f"SELECT district_id FROM {table} WHERE town_id = :town"),
                {"town": event.town_id},
            ).scalars()
            assert set(kept) == {district}, table


def test_the_small_demos_positions_carry_district_id(db: Session) -> None:
    total = db.scalar(select(func.count()).select_from(Position))
    missing = db.scalar(select(func.count()).where(Position.district_id.is_(None)))
    assert total and missing == 0  # the demo's patrols, on and off the grids
    desk_events = db.scalar(select(func.count()).select_from(Event))
    assert desk_events == 0  # the small demo files none: the keqiao one is checked in tests/demo

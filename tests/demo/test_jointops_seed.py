"""The demo's joint enforcement: a share of the level-3/4 events have assisting parts that went
as their event went, and each town holds joint operations over the year."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.events import seed_events
from fengqiao.demo.jointops import THEMES
from fengqiao.demo.seed import seed
from fengqiao.events.models import Event, EventPart
from fengqiao.jointops.models import JointOperation, JointOperationEvent
from fengqiao.org.models import OrgUnit, Unit

UNTIL = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def test_joint_events_and_operations_are_seeded(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    seed_events(db=fresh_db, count=1500, until=UNTIL)
    with fresh_db.session() as db:
        rows = db.execute(
            select(EventPart, Event).join(Event, Event.id == EventPart.event_id)
        ).all()
        assert rows, "some level-3/4 events have assisting units"
        district = db.scalar(select(OrgUnit.id).where(OrgUnit.kind == "district"))
        homes = {r.id: r.org_unit_id for r in db.execute(select(Unit.id, Unit.org_unit_id))}
        for part, event in rows:
            assert event.level >= 3 and part.unit_id != event.owner_unit_id
            assert homes[part.unit_id] in (event.town_id, event.village_id, district)
            if event.status == "closed":
                assert part.status in ("fed_back", "waived"), (part.status, event.code)
            if part.fed_back_at is not None and event.handled_at is not None:
                assert part.fed_back_at <= event.handled_at
        counts = {e.id: (e.assist_count, e.assist_open) for _, e in rows}
        for event_id, (count, still_open) in counts.items():
            parts = [p for p, e in rows if e.id == event_id]
            assert count == len(parts)
            assert still_open == sum(1 for p in parts if p.status in ("dispatched", "signed"))
        operations = db.scalar(select(func.count()).select_from(JointOperation))
        assert operations and operations >= 12
        assert db.scalar(select(func.count()).select_from(JointOperationEvent))


def test_seeded_operations_fit_their_theme_and_working_hours(fresh_db: Database) -> None:
    """Each operation is led by the unit type its theme names, counts its theme's results, and
    runs in working hours, Beijing time (09:00-12:00 or 14:00-17:30); results come after it."""
    seed(db=fresh_db, scale="small", password="pw")
    seed_events(db=fresh_db, count=300, until=UNTIL)
    themes = {t.name: t for t in THEMES}
    with fresh_db.session() as db:
        kinds = dict(db.execute(select(Unit.id, Unit.unit_type)).all())
        operations = db.scalars(select(JointOperation)).all()
        assert operations
        for op in operations:
            theme = themes[op.name]
            assert kinds[op.lead_unit_id] == theme.lead, (op.name, kinds[op.lead_unit_id])
            names = {name for name, _ in theme.counts}
            assert {q["name"] for q in op.quantities} <= names
            for q in op.quantities:
                assert q["name"] in op.results
            start, end = op.starts_at.astimezone(LOCAL_TZ), op.ends_at.astimezone(LOCAL_TZ)
            assert (start.hour, start.minute, end.hour, end.minute) in (
                (9, 0, 12, 0),
                (14, 0, 17, 30),
            )
            if op.status == "done":
                assert op.quantities and op.done_at is not None and op.done_at >= op.ends_at

"""The bulk path for history: `seed --events N` stores events the event center could have filed.

Each seeded event lies in the grid, village and town its point resolves to, went to the unit
routing proposes, has a unique code, and carries a trail whose chain verifies and replays to the
event's state, with a person behind every step a person takes.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from typing import Any

from sqlalchemy import func, select

from fengqiao.db import Database
from fengqiao.demo import phrases
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.events import workflow
from fengqiao.events.filing import route
from fengqiao.events.models import Event, EventLog
from fengqiao.events.trail import verify_all
from fengqiao.geo.service import GridLocator
from fengqiao.org.models import OrgUnit
from fengqiao.taxonomy.snapshot import load_rules

UNTIL = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)
# Steps taken by a system, not a person: nothing else may have an empty actor.
SYSTEM_ACTIONS = frozenset({"escalate", "remind", "overdue"})


def test_seeded_events_resolve_route_and_chain(fresh_db: Database) -> None:
    seed(db=fresh_db, scale="small", password="pw")
    report = seed_events(db=fresh_db, count=600, until=UNTIL)
    assert report.events == 600
    with fresh_db.session() as db:
        events = list(db.scalars(select(Event).order_by(Event.id)))
        logs: dict[int, list[Any]] = defaultdict(list)
        for row in db.execute(select(EventLog).order_by(EventLog.event_id, EventLog.seq)):
            logs[row.EventLog.event_id].append(row.EventLog)
        rules = load_rules(db)
        village_names = {row.id: row.name for row in db.execute(select(OrgUnit.id, OrgUnit.name))}
        locator = GridLocator(0)
        locator.refresh(db)
        broken = [link for _, link in verify_all(db) if link is not None]
        trail_rows = db.scalar(select(func.count()).select_from(EventLog))
    assert broken == []
    assert len(events) == 600 and trail_rows == report.trail_rows
    assert len({e.code for e in events}) == 600
    assert all(e.created_at <= UNTIL for e in events)
    # Each says what was seen and where, as a reporter writes it (the list's 事件描述 column).
    assert set(rules.categories) <= set(phrases.DESCRIPTIONS)
    for event in events:
        assert event.description in phrases.DESCRIPTIONS[event.category_code], event.code
        village = village_names[event.village_id]
        assert event.address.startswith(village) and event.address.endswith(" 号"), event.address
    assert len({e.description for e in events}) > 40 and len({e.address for e in events}) > 100
    states = set(workflow.STATES)
    for event in events:
        place = locator.locate(event.lng, event.lat)
        assert (place.grid_id, place.village_id, place.town_id) == (
            event.grid_id,
            event.village_id,
            event.town_id,
        ), event.code
        proposal = route(
            rules,
            category_code=event.category_code,
            level=event.level,
            place_ids=(event.village_id, event.town_id),
        )
        assert event.proposed_unit_id == proposal.unit_id, event.code
        assert event.status in states
        trail = logs[event.id]
        assert trail[0].action == "report" and trail[0].from_status is None
        for before, after in pairwise(trail):
            assert after.from_status == before.to_status, event.code
        assert trail[-1].to_status == event.status, event.code
        assert (event.trail_seq, event.trail_hash) == (len(trail), trail[-1].hash)
        for row in trail:
            assert row.actor_id is not None or row.action in SYSTEM_ACTIONS, (
                event.code,
                row.action,
            )

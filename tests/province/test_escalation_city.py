"""The escalation ladder reaches the city where a district sets it, and stops at the district
elsewhere."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import FixedClock
from fengqiao.config import Settings
from fengqiao.events.escalation import CITY_RUNG, TOP_RUNG, EscalationPolicy, climb, rung_people
from fengqiao.events.models import Event
from fengqiao.outbox.service import Directory
from tests.province.world import World

KQ, YC = "330603", "330602"


def at_district_rung(db: Session, world: World, code: str, clock: FixedClock) -> Event:
    event = db.get(Event, world.events[code]["id"])
    assert event is not None
    event.due_at = clock.now() - timedelta(days=20)
    event.overdue_at = event.due_at
    event.escalation_rung = TOP_RUNG
    db.flush()
    return event


def test_ladder_climbs_to_the_city_only_where_the_district_sets_it(
    db: Session, settings: Settings, clock: FixedClock, world: World
) -> None:
    policy = EscalationPolicy.from_settings(
        settings.model_copy(update={"escalation_city_districts": [YC]})
    )
    yc = at_district_rung(db, world, YC, clock)
    kq = at_district_rung(db, world, KQ, clock)
    assert policy.top_rung(yc) == CITY_RUNG and policy.top_rung(kq) == TOP_RUNG
    assert yc.due_at is not None
    assert policy.escalate_at(yc) == yc.due_at + timedelta(hours=policy.city_hours)
    assert policy.escalate_at(kq) is None
    climbed = climb(db, yc, now=clock.now(), reason="overdue", policy=policy)
    assert climbed is not None and climbed["rung"] == CITY_RUNG
    assert climbed["rung_name"].startswith("市级")
    assert climb(db, yc, now=clock.now(), reason="overdue", policy=policy) is None  # the top
    assert climb(db, kq, now=clock.now(), reason="overdue", policy=policy) is None
    told = {p.user_id for p in rung_people(Directory(db), yc, CITY_RUNG)}
    city_leader = db.query(User.id).filter(User.username == "sx_leader").scalar()
    district_leader = db.query(User.id).filter(User.username == "yc_leader").scalar()
    assert city_leader in told and district_leader not in told
    # Without the setting, every district stops at its own rung as before.
    plain = EscalationPolicy.from_settings(settings)
    assert plain.top_rung(kq) == plain.top_rung(yc) == TOP_RUNG

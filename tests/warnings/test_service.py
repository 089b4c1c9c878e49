"""The warnings job on stored events, on both backends: each kind is found, stored once, pushed
to the town's operators and the unit concerned, and a late run catches up."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.event import listen, remove
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.db import Database
from fengqiao.notify.templates import render_for
from fengqiao.outbox.models import Outbox
from fengqiao.warnings.models import EarlyWarning
from fengqiao.warnings.service import run_detectors
from fengqiao.worker import jobs
from tests.conftest import BoundDatabase

from .conftest import NOW, RULES, AddEvent, Place, hours_before, moved, routed_unit


def _warnings(db: Session) -> list[EarlyWarning]:
    return list(db.scalars(select(EarlyWarning).order_by(EarlyWarning.id)))


def _leaders(db: Session, unit_id: int) -> set[int]:
    rows = db.scalars(
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.unit_id == unit_id, UserRole.role.in_(("unit_leader", "handler")))
    )
    return set(rows)


def test_a_stability_cluster_is_warned_once_and_pushed(
    db: Session, bound: Database, add_event: AddEvent, place: Place
) -> None:
    for hours, code in [(100, "0103"), (40, "0301"), (3, "0302")]:
        add_event(code, hours_before(hours))
    add_event("0302", hours_before(5), village_id=place.other_village_id)  # another village
    assert run_detectors(database=bound, now=NOW, rules=RULES)["cluster"] == 1
    (warning,) = [w for w in _warnings(db) if w.kind == "cluster"]
    assert (warning.village_id, warning.town_id, warning.observed) == (
        place.village_id,
        place.town_id,
        3,
    )
    assert warning.status == "open" and "涉稳" in warning.message
    assert len(warning.details["event_ids"]) == 3
    # Pushed by SMS and in the app to the town's operators and the units routing names.
    rows = list(db.scalars(select(Outbox).where(Outbox.template == "warning")))
    told = {r.user_id for r in rows if r.user_id is not None}
    units = {routed_unit(db, place, code) for code in ("0103", "0301", "0302")}
    assert place.operators and place.operators <= told
    assert any(told & _leaders(db, unit) for unit in units)
    assert set(warning.pushed_to) == told
    assert {r.channel for r in rows} == {"sms", "app"}
    assert rows[0].payload["path"] == f"/warnings?id={warning.id}"  # a path, not a pinned address
    subject, text, _ = render_for("warning", rows[0].payload, base_url="https://fq.example.cn")
    assert (
        "涉稳聚集预警" in subject
        and warning.message in text
        and f"https://fq.example.cn/warnings?id={warning.id}" in text
    )

    # The same condition an hour later, and once more with a fourth event: still one warning.
    assert run_detectors(database=bound, now=NOW + timedelta(hours=1), rules=RULES)["cluster"] == 0
    add_event("0103", NOW + timedelta(hours=2))
    assert run_detectors(database=bound, now=NOW + timedelta(hours=3), rules=RULES)["cluster"] == 0
    assert len([w for w in _warnings(db) if w.kind == "cluster"]) == 1
    assert len(list(db.scalars(select(Outbox).where(Outbox.template == "warning")))) == len(rows)


def test_two_stability_events_are_no_cluster(
    db: Session, bound: Database, add_event: AddEvent
) -> None:
    add_event("0103", hours_before(8 * 24))  # outside the seven days
    add_event("0301", hours_before(40))
    add_event("0302", hours_before(3))
    add_event("0701", hours_before(2))  # not a stability class
    assert run_detectors(database=bound, now=NOW, rules=RULES)["cluster"] == 0


@pytest.mark.usefixtures("background")
def test_a_spike_against_an_empty_baseline(
    db: Session, bound: Database, add_event: AddEvent, place: Place
) -> None:
    for i in range(6):
        add_event("0901", hours_before(2 + i))
    counts = run_detectors(database=bound, now=NOW, rules=RULES)
    assert counts["spike"] == 1
    (spike,) = [w for w in _warnings(db) if w.kind == "spike"]
    assert (spike.category_code, spike.village_id, spike.observed) == ("0901", place.village_id, 6)
    # Never seen before (one prior event over eight weeks), scaled by the other village's day.
    assert spike.expected == round(1 * 3 / 56, 3) or spike.expected == round(1 * 1 / 56, 3)
    assert spike.details["p_value"] < RULES.spike_p
    assert spike.unit_id == routed_unit(db, place, "0901")
    assert "河道水体污染" in spike.message and "泊松" not in spike.message  # plain words


@pytest.mark.usefixtures("background")
def test_no_spike_below_the_minimum_or_against_a_busy_baseline(
    db: Session, bound: Database, add_event: AddEvent
) -> None:
    for i in range(4):  # a class never seen here, one short of the minimum
        add_event("0901", hours_before(2 + i))
    for day in range(1, 70):  # another class of the same major, here every day
        add_event("0902", hours_before(24 * day + 12))
    for i in range(4):
        add_event("0902", hours_before(2 + i))
    # 0902: 4 against about 1 a day; their major 09: 8 against about 1 (p ~ 1e-5 > 1e-6).
    assert run_detectors(database=bound, now=NOW, rules=RULES)["spike"] == 0
    # Two more of 0901 and it is a spike (and no longer a near miss of the minimum).
    add_event("0901", hours_before(1))
    add_event("0901", hours_before(1.5))
    assert run_detectors(database=bound, now=NOW + timedelta(minutes=1), rules=RULES)["spike"] == 1


def test_a_repeat_at_one_place_and_its_near_miss(
    db: Session, bound: Database, add_event: AddEvent, place: Place
) -> None:
    lat, lng = place.lat, place.lng
    for days, metres, bearing in [(20, 0, 0), (9, 25, 90), (0.2, 20, 200)]:
        add_event("0703", NOW - timedelta(days=days), lat=moved(lat, lng, metres, bearing)[0],
                  lng=moved(lat, lng, metres, bearing)[1])  # fmt: skip
    # Near miss: two of another class at the same spot, the third 70 m away.
    for days, metres in [(15, 0), (5, 5), (0.1, 70)]:
        point = moved(lat, lng, metres, 0)
        add_event("0701", NOW - timedelta(days=days), lat=point[0], lng=point[1])
    counts = run_detectors(database=bound, now=NOW, rules=RULES)
    assert counts["repeat"] == 1
    (repeat,) = [w for w in _warnings(db) if w.kind == "repeat"]
    assert repeat.category_code == "0703" and repeat.observed == 3
    assert repeat.lat is not None and abs(repeat.lat - lat) < 0.001
    assert "同一地点" in repeat.message


def test_a_unit_backlog(db: Session, bound: Database, add_event: AddEvent, place: Place) -> None:
    unit = routed_unit(db, place, "0701")
    for i in range(5):
        add_event("0701", hours_before(200), owner_unit_id=unit, status="signed",
                  due_at=hours_before(20 + i))  # fmt: skip
    add_event(
        "0701", hours_before(200), owner_unit_id=unit, status="closed", due_at=hours_before(30)
    )
    other = routed_unit(db, place, "0301")
    for i in range(4):  # one short of the line
        add_event("0301", hours_before(200), owner_unit_id=other, status="signed",
                  due_at=hours_before(20 + i))  # fmt: skip
    assert run_detectors(database=bound, now=NOW, rules=RULES)["backlog"] == 1
    (backlog,) = [w for w in _warnings(db) if w.kind == "backlog"]
    assert backlog.unit_id == unit and backlog.observed == 5
    assert backlog.window_start == hours_before(24)
    leaders = _leaders(db, unit)
    told = {r.user_id for r in db.scalars(select(Outbox).where(Outbox.template == "warning"))}
    assert leaders and told & leaders
    # Still the same backlog the next day: no second warning.
    assert run_detectors(database=bound, now=NOW + timedelta(days=1), rules=RULES)["backlog"] == 0


def test_a_late_run_catches_up_and_an_early_one_waits(
    db: Session, bound: Database, add_event: AddEvent
) -> None:
    assert run_detectors(database=bound, now=NOW, rules=RULES) == dict.fromkeys(
        ("spike", "cluster", "repeat", "backlog"), 0
    )
    # A cluster three to four days after that run, then nothing runs for ten days.
    for hours in (3 * 24, 3 * 24 + 5, 4 * 24):
        add_event("0301", NOW + timedelta(hours=hours))
    assert run_detectors(database=bound, now=NOW + timedelta(days=10), rules=RULES)["cluster"] == 1
    # With the hourly cadence, a run 10 minutes after the last does nothing at all.
    hourly = RULES.__class__(interval_minutes=60)
    assert (
        run_detectors(database=bound, now=NOW + timedelta(days=10, minutes=10), rules=hourly) == {}
    )


def test_the_job_is_registered() -> None:
    registry = jobs()
    assert "warnings" in registry
    names = list(registry)
    # Warnings run before the sender, so their messages leave in the same round.
    assert names.index("warnings") < names.index("outbox")


def test_the_job_reads_events_through_their_indexes(
    db: Session, bound: BoundDatabase, add_event: AddEvent, place: Place, seeded: Any
) -> None:
    """Every query the job sends to `event` uses an index (SQLite's plan; the events are a
    year of rows, the job reads days of them)."""
    if seeded.backend != "sqlite":
        pytest.skip("EXPLAIN QUERY PLAN is SQLite's")
    add_event("0701", hours_before(3), owner_unit_id=routed_unit(db, place, "0701"), status="signed",
              due_at=hours_before(1))  # fmt: skip
    captured: list[tuple[str, Any]] = []

    def grab(_conn: Any, _cursor: Any, sql: str, params: Any, _context: Any, _many: bool) -> None:
        if sql.lstrip().upper().startswith("SELECT") and " event" in sql:
            captured.append((sql, params))

    listen(bound.connection, "before_cursor_execute", grab)
    try:
        run_detectors(database=bound, now=NOW, rules=RULES)
    finally:
        remove(bound.connection, "before_cursor_execute", grab)
    plans = {
        sql: " ".join(str(row[-1]) for row in bound.connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}", params))
        for sql, params in captured
        if "FROM event " in sql or "FROM event\n" in sql
    }  # fmt: skip
    assert len(plans) >= 4  # counts, the days of events, overdue and open counts by unit
    for sql, plan in plans.items():
        if "event.created_at >=" in sql:  # windows, baselines, the days of events
            assert "USING INDEX ix_event_created (created_at>? AND created_at<?)" in plan, plan
        elif "due_at <" in sql:  # overdue by unit: the partial index, not every event
            assert "USING INDEX ix_event_open_due (due_at<?)" in plan, plan
        else:  # open events of the units with overdue ones
            assert "ix_event_owner_status (owner_unit_id=?" in plan, plan

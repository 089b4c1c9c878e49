"""The rollups: kept by every change in the change's own transaction, equal to a rebuild."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.facts import COUNTER_INDEX, entries
from fengqiao.analytics.models import SPECS
from fengqiao.analytics.rollups import apply_pending, compare, compute, rebuild, stored
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.events.changes import EventState, decode_state, encode_state
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import RollupPending
from fengqiao.supervision.sweeper import sweep
from tests.conftest import BoundDatabase
from tests.events.conftest import Desk


def random_workload(desk: Desk, clock: FixedClock, bound: BoundDatabase, seed: int) -> int:
    """File events and take them down random paths, with time passing and the sweeper running;
    the number of events filed."""
    rng = random.Random(seed)
    world = desk.world
    filed: list[dict[str, Any]] = []
    for _ in range(26):
        path = rng.choice(
            ["leave", "reject", "accept", "dispatch", "loop", "loop", "rework", "return", "self",
             "merge", "other"]
        )  # fmt: skip
        mine = path != "other"
        level = 1 if path == "self" else 2 if mine else rng.choice([2, 3])
        event = desk.file(
            category=world.handler_category if mine else world.other_category,
            level=level,
            urgent=rng.random() < 0.1,
        )
        if path == "self" and level == 1:
            event = desk.act(event, "demo_grid_worker", "self_handle")
            photo = desk.photo(event, "demo_grid_worker", kind="after")
            clock.advance(timedelta(minutes=rng.choice([20, 300])))
            event = desk.act(event, "demo_grid_worker", "close", attachment_ids=[photo])
        elif path == "reject":
            event = desk.act(event, "demo_operator", "reject", note="不属于受理范围")
        elif path == "merge" and any(e["status"] == "reported" for e in filed):
            target = next(e for e in reversed(filed) if e["status"] == "reported")
            event = desk.act(event, "demo_operator", "merge", into=target["id"])
        elif path in ("accept", "dispatch") or not mine:
            event = desk.act(event, "demo_operator", "accept")
            if path != "accept":
                event = desk.act(event, "demo_operator", "dispatch")
        elif path == "return":
            event = desk.act(event, "demo_operator", "accept")
            event = desk.act(event, "demo_operator", "dispatch")
            event = desk.act(event, "demo_handler", "return", note="不属于本单位职责")
        elif path in ("loop", "rework"):
            event = desk.to_handled(event)
            clock.advance(timedelta(hours=rng.choice([1, 20, 60])))
            if path == "rework":
                event = desk.act(event, "demo_grid_worker", "verify", ok=False, note="仍有摊位")
                photo = desk.photo(event, "demo_handler")
                event = desk.act(
                    event, "demo_handler", "feedback", result="再次清理", attachment_ids=[photo]
                )
            if rng.random() < 0.8:
                event = desk.verify_ok(event)
                if rng.random() < 0.6:
                    event = desk.act(
                        event, "demo_grid_worker", "rate", satisfaction=rng.randint(1, 5)
                    )
        filed.append(event)
        clock.advance(timedelta(hours=rng.choice([1, 3, 9, 26])))
        if rng.random() < 0.4:
            sweep(bound, clock.now(), EscalationPolicy())
    clock.advance(timedelta(days=9))
    sweep(bound, clock.now(), EscalationPolicy())
    apply_pending(bound)  # the worker's round
    return len(filed)


def test_incremental_rollups_equal_a_rebuild_after_a_random_workload(
    desk: Desk, clock: FixedClock, bound: BoundDatabase, db: Session
) -> None:
    filed = random_workload(desk, clock, bound, seed=6)
    connection = db.connection()
    kept = {spec.name: stored(connection, spec) for spec in SPECS}
    assert sum(v[COUNTER_INDEX["new"]] for v in kept["day_town"].values()) >= filed
    # Something happened on every path the counters describe.
    totals = {
        name: sum(v[i] for v in kept["day_class"].values()) for name, i in COUNTER_INDEX.items()
    }
    for counter in ("accepted", "dispatched", "closed", "rejected", "merged", "returned",
                    "reworked", "overdue", "open", "rated", "done"):  # fmt: skip
        assert totals[counter] > 0, counter
    assert compare(connection) == {}
    # Summed three events at a time (so partial sums are folded together many times): the same.
    assert compute(connection, chunk=3) == compute(connection)
    report = rebuild(bound)
    assert report.events >= filed
    assert {spec.name: stored(connection, spec) for spec in SPECS} == kept


def test_a_broken_rollup_is_found_and_a_rebuild_mends_it(
    desk: Desk, bound: BoundDatabase, db: Session
) -> None:
    desk.file()
    apply_pending(bound)
    connection = db.connection()
    assert compare(connection) == {}
    from fengqiao.analytics.models import TABLES

    table = TABLES["month_grid"]
    connection.execute(table.update().values(new=table.c.new + 1))
    differences = compare(connection)
    assert list(differences) == ["month_grid"]
    assert "new" in differences["month_grid"][0]
    rebuild(bound)
    assert compare(connection) == {}


def _state(**changes: Any) -> EventState:
    created = datetime(2026, 3, 1, 23, 30, tzinfo=LOCAL_TZ).astimezone(UTC)
    values: dict[str, Any] = dict(
        status="reported", created_at=created, town_id=2, village_id=3, grid_id=4,
        category_code="0101", major_code="01", platform="governance", level=2,
        source="grid_worker", reporter_id=9, owner_unit_id=None, accepted_at=None,
        dispatched_at=None, handled_at=None, closed_at=None, due_at=created + timedelta(days=3),
        overdue_at=None, paused_seconds=0.0, return_count=0, rework_count=0, satisfaction=None,
    )  # fmt: skip
    values.update(changes)
    return EventState(**values)


def _named(values: tuple[tuple[int, int], ...]) -> dict[str, int]:
    names = list(COUNTER_INDEX)
    return {names[i]: v for i, v in values}


def test_an_event_counts_on_its_local_filing_day_and_its_closing_day() -> None:
    created = _state().created_at
    closed = created + timedelta(days=1, hours=2)  # 3 March, 01:30 local
    state = _state(
        status="closed", accepted_at=created, dispatched_at=created, handled_at=closed,
        closed_at=closed, owner_unit_id=7, paused_seconds=1800.0, satisfaction=4, return_count=2,
    )  # fmt: skip
    cohort, flow = entries(state)
    assert (cohort.at.date().isoformat(), flow.at.date().isoformat()) == (
        "2026-03-01",
        "2026-03-03",
    )
    assert _named(cohort.values) == {
        "new": 1, "accepted": 1, "dispatched": 1, "handled": 1, "closed": 1,
        "closed_on_time": 1, "returned": 2, "returned_events": 1,
        "handle_seconds": 26 * 3600 - 1800, "rated": 1, "satisfaction_sum": 4, "sat_4": 1,
    }  # fmt: skip
    assert _named(flow.values) == {
        "done": 1, "done_on_time": 1, "done_seconds": 26 * 3600 - 1800, "done_d3": 1,
    }  # fmt: skip


def test_an_open_overdue_event_and_a_late_closing() -> None:
    created = _state().created_at
    late = _state(status="signed", overdue_at=created + timedelta(days=3), dispatched_at=created)
    assert _named(entries(late)[0].values) == {
        "new": 1, "dispatched": 1, "overdue": 1, "open": 1, "open_overdue": 1,
    }  # fmt: skip
    closed = _state(
        status="closed", accepted_at=created, closed_at=created + timedelta(days=8),
        overdue_at=created + timedelta(days=3),
    )  # fmt: skip
    cohort, flow = entries(closed)
    assert "closed_on_time" not in _named(cohort.values)
    assert _named(cohort.values)["self_handled"] == 1  # closed without ever reaching a unit
    assert _named(flow.values) == {"done": 1, "done_seconds": 8 * 86400, "done_more": 1}


def test_steps_are_queued_and_the_worker_counts_each_change_once(
    desk: Desk, bound: BoundDatabase, db: Session
) -> None:
    connection = db.connection()
    day_town = next(s for s in SPECS if s.name == "day_town")

    def counted(counter: str) -> int:
        return sum(
            v[day_town.counters.index(counter)] for v in stored(connection, day_town).values()
        )

    before = counted("new")
    event = desk.file()
    event = desk.act(event, "demo_operator", "accept")
    pending = db.execute(select(RollupPending.event_id, RollupPending.before)).all()
    assert [row.event_id for row in pending] == [event["id"]]
    assert pending[0].before is None  # filed and accepted before the worker's round: one row
    assert counted("new") == before  # not yet in the rollups
    report = apply_pending(bound)
    assert (report.events, counted("new"), counted("accepted") > 0) == (1, before + 1, True)
    assert db.scalar(select(RollupPending.event_id)) is None
    # A later step queues the state the worker counted; the next round moves it once.
    desk.act(event, "demo_operator", "dispatch")
    assert apply_pending(bound).events == 1
    assert apply_pending(bound).events == 0
    assert compare(connection) == {}


def test_a_state_survives_the_queue_unchanged() -> None:
    state = _state(
        status="closed", closed_at=_state().created_at + timedelta(hours=3), satisfaction=5,
        owner_unit_id=7, paused_seconds=12.5,
    )  # fmt: skip
    assert decode_state(encode_state(state)) == state

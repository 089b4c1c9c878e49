"""Property tests: random sequences of actions by random users, through the service layer.

Whatever happens, every event is in exactly one known state, its trail replays to that state,
the chain verifies, refusals change nothing, and deadlines never move backwards except when an
event is dispatched again after a return.
"""

from __future__ import annotations

import contextlib
import dataclasses
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.service import load_principal
from fengqiao.clock import FixedClock
from fengqiao.errors import Problem
from fengqiao.events import filing, service, steps, workflow
from fengqiao.events.models import Event, EventLog
from fengqiao.events.photos import DeviceFix, PhotoInfo
from fengqiao.events.schemas import EventCreate, TransitionIn
from fengqiao.events.trail import verify_rows
from fengqiao.geo.service import GridLocator
from fengqiao.taxonomy.snapshot import load_rules

from .conftest import START, World

USERS = ("demo_grid_worker", "demo_grid_leader", "demo_operator", "demo_handler", "demo_leader",
         "demo_resident", "demo_district_operator")  # fmt: skip


# Who usually takes each action: most steps pick one of them, so walks get deep into the loop.
LIKELY: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("accept", "reject", "dispatch", "merge", "request_void", "resume"), ("demo_operator",)
    ),
    **dict.fromkeys(
        ("sign", "return", "feedback", "request_suspend", "request_escalation"), ("demo_handler",)
    ),
    "escalate": ("demo_operator", "demo_leader"),
    **dict.fromkeys(("verify", "self_handle", "close", "rate"), ("demo_grid_worker",)),
    "approve": ("demo_operator", "demo_leader"),
    "deny": ("demo_operator", "demo_leader"),
}


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(level=st.sampled_from([1, 2, 3]), data=st.data())
def test_random_walks_keep_the_invariants(
    db: Session, world: World, level: int, data: st.DataObject
) -> None:
    nested = db.begin_nested()
    try:
        reached = _walk(db, world, level, data)
    finally:
        nested.rollback()
        # SQLite hands the rolled-back ids out again: no object of this example may be mistaken
        # for a row of the next one (rows only read here are not expired by the rollback).
        db.expire_all()
    hypothesis_event(f"reached {max(reached, key=_depth)}")


def _depth(state: str) -> int:
    order = ("reported", "accepted", "dispatched", "signed", "handled", "closed")
    return order.index(state) if state in order else 0


def _walk(db: Session, world: World, level: int, data: st.DataObject) -> set[str]:
    clock = FixedClock(START)
    rules = load_rules(db)
    locator = GridLocator(0)
    locator.refresh(db)
    principals = {name: load_principal(db=db, user_id=world.ids[name]) for name in USERS}
    lat, lng = world.grid_point
    worker = principals["demo_grid_worker"]
    assert worker is not None
    event, _ = filing.create_event(
        db=db, rules=rules, place=locator.locate(lng, lat), principal=worker, now=clock.now(),
        data=EventCreate(source="grid_worker", category=world.handler_category, lat=lat, lng=lng,
                         level=level),
        photos=[],
    )  # fmt: skip
    event_id = event.id
    reached = {event.status}
    photo = PhotoInfo(sha256="a" * 64, mime="image/jpeg", bytes=10, width=1, height=1,
                      taken_at=None, lat=None, lng=None)  # fmt: skip
    for _ in range(data.draw(st.integers(min_value=1, max_value=30), label="steps")):
        current = db.get(Event, event_id)
        assert current is not None
        # Mostly actions that exist from the current state, sometimes any action at all.
        legal = workflow.available(current.status)
        pick_legal = bool(legal) and data.draw(st.integers(0, 4), label="legal") > 0
        action = data.draw(
            st.sampled_from(legal if pick_legal else workflow.ACTIONS), label="action"
        )
        likely = LIKELY.get(action, USERS)
        pick_likely = data.draw(st.integers(0, 4), label="likely") > 0
        user = data.draw(st.sampled_from(likely if pick_likely else USERS), label="user")
        flag = data.draw(st.booleans(), label="flag")
        clock.advance(timedelta(hours=data.draw(st.integers(0, 36), label="hours")))
        number = data.draw(st.integers(1, 5), label="number")
        stale = data.draw(st.integers(0, 9), label="stale") == 0
        principal = principals[user]
        assert principal is not None
        before = _snapshot(current)
        attachment_ids: list[int] = []
        if action in ("feedback", "close", "verify") and flag:
            # A photo of the handling, or the verifier's on-site photo (the phone at the event).
            here = DeviceFix(lat=lat, lng=lng, accuracy_m=10.0, at=clock.now())
            shot = dataclasses.replace(photo, device=here) if action == "verify" else photo
            with contextlib.suppress(Problem):
                attachment_ids = [a.id for a in service.add_attachments(
                    db=db, principal=principal, event=current, photos=[shot],
                    kind="verify" if action == "verify" else "after", now=clock.now())]  # fmt: skip
            db.refresh(current)
            before = _snapshot(current)
        step = TransitionIn(
            action=action,
            version=current.version - 1 if stale and current.version > 1 else current.version,
            note="理由" if flag else "",
            ok=flag,
            confirmed=flag,
            result="已处理" if flag else None,
            satisfaction=number,
            level=min(number, 4) if action == "accept" and flag else None,
            into=None,
            attachment_ids=attachment_ids,
        )
        savepoint = db.begin_nested()
        try:
            steps.transition(
                db=db, rules=rules, principal=principal, event_id=event_id, data=step,
                now=clock.now(),
            )  # fmt: skip
            savepoint.commit()
        except Problem:
            savepoint.rollback()
            db.expire_all()
            after = db.get(Event, event_id)
            assert after is not None and _snapshot(after) == before, "a refusal changed the event"
            continue
        after = db.get(Event, event_id)
        assert after is not None
        _check(db, after, before, action)
        reached.add(after.status)
    return reached


def _snapshot(event: Event) -> tuple[Any, ...]:
    return (event.status, event.version, event.due_at, event.trail_seq, event.trail_hash,
            event.owner_unit_id, event.rework_count, event.return_count)  # fmt: skip


def _check(db: Session, event: Event, before: tuple[Any, ...], action: str) -> None:
    assert event.status in workflow.STATES
    rows = list(
        db.scalars(select(EventLog).where(EventLog.event_id == event.id).order_by(EventLog.seq))
    )
    # The trail replays to the state: each row starts where the previous one ended.
    state = None
    for row in rows:
        assert row.from_status == state, (row.seq, row.action)
        state = row.to_status
    assert state == event.status
    assert (
        verify_rows(event.id, [r.__dict__ for r in rows], (event.trail_seq, event.trail_hash))
        is None
    )
    old_due = before[2]
    redispatch = action == "dispatch" and event.return_count > 0
    if old_due is not None and event.due_at is not None and not redispatch:
        assert event.due_at >= old_due, f"{action} moved the deadline backwards"
    # One new version per trail row the step wrote (the second return also climbs a rung).
    added = [r.action for r in rows[before[3] :]]
    assert added[0] == action and set(added[1:]) <= {"escalate"}
    assert event.version == before[1] + len(added)

"""The assisting units' parts (协办) have their own deadlines: the sweeper reminds each part's
unit once, then turns the part red with a supervision order to that unit."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.events.models import EventLog, EventPart
from fengqiao.outbox.models import Outbox
from fengqiao.supervision.models import SupervisionOrder
from fengqiao.supervision.sweeper import sweep

from ..conftest import BoundDatabase
from .conftest import Auth, Desk, World
from .test_cohandling import dispatched_jointly, helper
from .test_deadlines import POLICY, _chain_ok


def test_a_late_part_is_reminded_once_then_goes_red_with_an_order_to_its_unit(
    desk: Desk,
    bound: BoundDatabase,
    db: Session,
    world: World,
    api: TestClient,
    auth: Auth,
    clock: FixedClock,
) -> None:
    unit, assistant = helper(db, world)
    event = dispatched_jointly(desk, unit)
    event = desk.act(event, assistant, "sign_part")
    part = db.scalars(select(EventPart).where(EventPart.event_id == event["id"])).one()
    assert part.remind_at and part.due_at and part.remind_at < part.due_at
    remind_at, due_at = part.remind_at, part.due_at

    counts = sweep(bound, remind_at, POLICY)
    assert counts.get("part_reminded") == 1
    assert sweep(bound, remind_at + timedelta(minutes=1), POLICY).get("part_reminded") is None
    told = db.scalars(
        select(Outbox).where(Outbox.event_id == event["id"], Outbox.template == "assist_reminder")
    ).all()
    assert told and all(r.payload["part_unit"] for r in told)

    counts = sweep(bound, due_at, POLICY)
    assert counts.get("part_overdue") == 1
    db.expire_all()
    assert db.get(EventPart, part.id).overdue_at is not None  # type: ignore[union-attr]
    orders = db.scalars(
        select(SupervisionOrder).where(SupervisionOrder.event_id == event["id"])
    ).all()
    assert unit in {o.unit_id for o in orders}
    clock.set(due_at + timedelta(minutes=1))
    shown = desk.get(event)
    assert shown["parts"][1]["light"] == "red"
    todo = api.get("/api/v1/event-parts?light=red", headers=auth(assistant)).json()
    assert [i["event_id"] for i in todo["items"]] == [event["id"]]
    actions = db.scalars(
        select(EventLog.action).where(EventLog.event_id == event["id"]).order_by(EventLog.seq)
    ).all()
    assert "part_remind" in actions and "part_overdue" in actions
    assert _chain_ok(db, event["id"])


def test_a_fed_back_part_is_left_alone(
    desk: Desk, bound: BoundDatabase, db: Session, world: World
) -> None:
    unit, assistant = helper(db, world)
    event = desk.act(dispatched_jointly(desk, unit), assistant, "sign_part")
    photo = desk.photo(event, assistant)
    event = desk.get(event)
    desk.act(event, assistant, "feedback_part", result="已配合", attachment_ids=[photo])
    part = db.scalars(select(EventPart).where(EventPart.event_id == event["id"])).one()
    assert part.due_at is not None
    counts = sweep(bound, part.due_at + timedelta(days=1), POLICY)
    assert "part_overdue" not in counts and "part_reminded" not in counts

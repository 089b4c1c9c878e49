"""Deadlines that act: one reminder before the deadline, the overdue order, the escalation ladder.

The sweeper runs at chosen moments (time is a parameter), against the seeded small district.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.clock import FixedClock
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import Event, EventLog
from fengqiao.events.trail import verify_rows
from fengqiao.outbox.models import Outbox
from fengqiao.supervision.models import SupervisionOrder
from fengqiao.supervision.sweeper import sweep

from ..conftest import BoundDatabase
from .conftest import Desk

POLICY = EscalationPolicy(overdue_hours=(24.0, 72.0, 168.0), returns=2, reply_hours=24.0)


def _event(db: Session, event_id: int) -> Event:
    db.expire_all()
    event = db.get(Event, event_id)
    assert event is not None
    return event


def _outbox(db: Session, event_id: int, template: str) -> list[Outbox]:
    return list(
        db.scalars(
            select(Outbox)
            .where(Outbox.event_id == event_id, Outbox.template == template)
            .order_by(Outbox.id)
        )
    )


def _actions(db: Session, event_id: int) -> list[tuple[str, int | None]]:
    rows = db.execute(
        select(EventLog.action, EventLog.actor_id)
        .where(EventLog.event_id == event_id)
        .order_by(EventLog.seq)
    )
    return [(r.action, r.actor_id) for r in rows]


def _chain_ok(db: Session, event_id: int) -> bool:
    event = _event(db, event_id)
    rows = db.scalars(select(EventLog).where(EventLog.event_id == event_id).order_by(EventLog.seq))
    return (
        verify_rows(event_id, [r.__dict__ for r in rows], (event.trail_seq, event.trail_hash))
        is None
    )


def _dispatched(desk: Desk) -> dict[str, Any]:
    event = desk.act(desk.file(), "demo_operator", "accept")
    return desk.act(event, "demo_operator", "dispatch")


def _handler_phones(db: Session, unit_id: int) -> set[str]:
    rows = db.scalars(
        select(User.phone)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.unit_id == unit_id, UserRole.role == "handler")
    )
    return {p for p in rows if p}


def test_one_reminder_then_the_overdue_order_then_the_ladder(
    desk: Desk, bound: BoundDatabase, db: Session, clock: FixedClock
) -> None:
    event = _dispatched(desk)
    stored = _event(db, event["id"])
    assert stored.level >= 2 and stored.remind_at and stored.due_at
    remind_at, due_at = stored.remind_at, stored.due_at
    assert due_at - remind_at == timedelta(hours=24)

    assert sweep(bound, remind_at - timedelta(seconds=1), POLICY) == {}
    assert sweep(bound, remind_at, POLICY) == {"sent": 1}
    assert sweep(bound, remind_at + timedelta(hours=1), POLICY) == {}  # exactly once
    reminders = _outbox(db, event["id"], "reminder")
    sms = {r.recipient for r in reminders if r.channel == "sms"}
    assert _handler_phones(db, desk.world.handler_unit) < sms  # plus the unit's duty phone
    assert {r.user_id for r in reminders if r.channel == "app"} >= {desk.world.ids["demo_handler"]}
    assert all(
        r.payload["code"] == event["code"] and r.payload["path"] == f"/events/{event['id']}"
        for r in reminders
    )

    assert sweep(bound, due_at, POLICY) == {"overdue": 1}
    stored = _event(db, event["id"])
    assert stored.overdue_at == due_at and stored.escalate_at == due_at + timedelta(hours=24)
    order = db.scalars(
        select(SupervisionOrder).where(SupervisionOrder.event_id == event["id"])
    ).one()
    assert order.kind == "overdue" and order.unit_id == desk.world.handler_unit
    assert order.issued_by is None and order.due_at == due_at + timedelta(hours=24)
    assert _outbox(db, event["id"], "supervision")
    told = {r.user_id for r in _outbox(db, event["id"], "overdue") if r.channel == "app"}
    assert desk.world.ids["demo_operator"] in told  # the town's operator
    heads = set(
        db.scalars(
            select(User.id)
            .join(UserRole, UserRole.user_id == User.id)
            .where(User.unit_id == desk.world.handler_unit, UserRole.role == "unit_leader")
        )
    )
    assert heads and heads <= told  # and the unit's head
    clock.set(due_at)
    seen = desk.get(event)
    assert seen["light"] == "red" and seen["overdue_at"] is not None

    for hours, rung in ((24, 1), (72, 2), (168, 3)):
        assert sweep(bound, due_at + timedelta(hours=hours) - timedelta(seconds=1), POLICY) == {}
        assert sweep(bound, due_at + timedelta(hours=hours), POLICY) == {"escalated": 1}
        assert _event(db, event["id"]).escalation_rung == rung
    assert _event(db, event["id"]).escalate_at is None
    assert sweep(bound, due_at + timedelta(days=60), POLICY) == {}
    escalations = _outbox(db, event["id"], "escalation")
    assert {r.payload["rung"] for r in escalations} == {
        "镇街平台协调组", "镇街领导", "区级（区信访局/区综合信息指挥中心）",
    }  # fmt: skip
    actions = _actions(db, event["id"])
    system = [a for a, actor in actions if actor is None]
    assert system == ["remind", "supervise", "overdue", "escalate", "escalate", "escalate"]
    assert _chain_ok(db, event["id"])


def test_a_late_worker_catches_up_in_one_tick(
    desk: Desk, bound: BoundDatabase, db: Session
) -> None:
    event = _dispatched(desk)
    due_at = _event(db, event["id"]).due_at
    assert due_at is not None
    counts = sweep(bound, due_at + timedelta(days=30), POLICY)
    assert counts == {"late": 1, "overdue": 1, "escalated": 3}
    assert _outbox(db, event["id"], "reminder") == []  # a reminder after the deadline is no use
    assert _event(db, event["id"]).escalation_rung == 3


def test_a_new_deadline_gets_its_own_reminder(
    desk: Desk, bound: BoundDatabase, db: Session, clock: FixedClock
) -> None:
    event = _dispatched(desk)
    first = _event(db, event["id"])
    assert first.remind_at is not None and first.due_at is not None
    first_remind, first_due = first.remind_at, first.due_at
    sweep(bound, first_remind, POLICY)
    assert _event(db, event["id"]).reminded_at is not None
    clock.set(first_remind + timedelta(hours=1))  # after the reminder went out
    returned = desk.act(desk.get(event), "demo_handler", "return", note="不属于本单位")
    again = desk.act(returned, "demo_operator", "dispatch")
    moved = _event(db, again["id"])
    assert moved.reminded_at is None and moved.overdue_at is None
    assert moved.remind_at is not None
    keys_before = {r.dedupe_key for r in _outbox(db, event["id"], "reminder")}
    assert moved.due_at is not None and moved.due_at > first_due
    assert sweep(bound, moved.remind_at, POLICY) == {"sent": 1}
    keys_after = {r.dedupe_key for r in _outbox(db, event["id"], "reminder")}
    assert keys_after > keys_before and len(keys_after) == 2 * len(keys_before)


def test_the_second_return_climbs_a_rung(desk: Desk, db: Session) -> None:
    event = _dispatched(desk)
    event = desk.act(event, "demo_handler", "return", note="不属于本单位")
    assert _event(db, event["id"]).escalation_rung == 0
    event = desk.act(event, "demo_operator", "dispatch")
    event = desk.act(event, "demo_handler", "return", note="仍不属于本单位")
    stored = _event(db, event["id"])
    assert stored.return_count == 2 and stored.escalation_rung == 1
    assert [a for a, _ in _actions(db, event["id"])][-2:] == ["return", "escalate"]
    assert _outbox(db, event["id"], "escalation")


def test_units_ask_and_operators_decide_to_escalate(desk: Desk, db: Session) -> None:
    event = _dispatched(desk)
    refused = desk.act(event, "demo_handler", "request_escalation", expect=422)
    assert refused["errors"][0]["field"] == "note"
    desk.act(event, "demo_grid_worker", "request_escalation", note="x", expect=403)
    event = desk.act(event, "demo_handler", "request_escalation", note="涉及多个部门,需协调")
    assert _event(db, event["id"]).escalation_rung == 1
    event = desk.act(event, "demo_operator", "escalate", note="群众反映强烈")
    event = desk.act(event, "demo_operator", "escalate", note="仍未解决")
    assert _event(db, event["id"]).escalation_rung == 3
    top = desk.act(event, "demo_operator", "escalate", note="再升", expect=409)
    assert top["type"].endswith("/top-rung") and "区级" in top["detail_zh"]
    trail = desk.get(event)["trail"]
    assert [r["payload"]["reason"] for r in trail if r["action"] in ("escalate", "request_escalation")] == [
        "unit_request", "operator", "operator",
    ]  # fmt: skip


def test_a_suspended_event_is_left_alone(desk: Desk, bound: BoundDatabase, db: Session) -> None:
    event = _dispatched(desk)
    event = desk.act(event, "demo_handler", "request_suspend", note="等待鉴定结果")
    event = desk.act(event, "demo_operator", "approve")
    assert event["status"] == "suspended"
    due_at = _event(db, event["id"]).due_at
    assert due_at is not None
    assert sweep(bound, due_at + timedelta(days=3), POLICY) == {}


def test_an_order_by_hand_and_the_units_reply(
    desk: Desk, bound: BoundDatabase, db: Session
) -> None:
    event = _dispatched(desk)
    api, auth = desk.api, desk.auth
    url = f"/api/v1/events/{event['id']}/supervision-orders"
    body = {"kind": "leader", "requirement": "请于明日前处置完毕并反馈照片"}
    refused = api.post(url, json=body, headers=auth("demo_handler"))
    assert refused.status_code == 403
    bad = api.post(url, json={**body, "kind": "overdue"}, headers=auth("demo_operator"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "kind"
    made = api.post(url, json=body, headers=auth("demo_leader"))
    assert made.status_code == 201, made.text
    order = made.json()
    assert order["kind"] == "leader" and order["status"] == "open"
    assert (
        order["unit"]["id"] == desk.world.handler_unit
        and order["issued_by"]["code"] == "demo_leader"
    )
    listed = api.get(
        "/api/v1/supervision-orders", params={"status": "open"}, headers=auth("demo_handler")
    )
    assert [o["id"] for o in listed.json()["items"]] == [order["id"]]
    outsider = api.get("/api/v1/supervision-orders", headers=auth("demo_grid_worker"))
    assert outsider.status_code == 200 and outsider.json()["items"] == []
    hidden = api.get(f"/api/v1/supervision-orders/{order['id']}", headers=auth("demo_resident"))
    assert hidden.status_code == 404
    reply_url = f"/api/v1/supervision-orders/{order['id']}/reply"
    assert (
        api.post(reply_url, json={"reply": "已处置"}, headers=auth("demo_operator")).status_code
        == 403
    )
    replied = api.post(reply_url, json={"reply": "已安排人员处置"}, headers=auth("demo_handler"))
    assert replied.status_code == 200 and replied.json()["status"] == "replied"
    again = api.post(reply_url, json={"reply": "再次回复"}, headers=auth("demo_handler"))
    assert again.status_code == 409
    csv = api.get("/api/v1/supervision-orders/export", headers=auth("demo_operator"))
    assert csv.status_code == 200 and order["code"] in csv.text and "已回复" in csv.text
    actions = [a for a, _ in _actions(db, event["id"])]
    assert actions[-2:] == ["supervise", "supervision_reply"]
    assert _chain_ok(db, event["id"])


def test_an_idle_tick_is_one_read_statement_and_a_due_one_still_acts(
    desk: Desk, bound: BoundDatabase, db: Session
) -> None:
    event = _dispatched(desk)
    stored = _event(db, event["id"])
    assert stored.remind_at is not None and stored.due_at is not None
    statements: list[str] = []

    def seen(_c: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        if "SAVEPOINT" not in statement:  # the fixture's own nesting, not the sweeper's
            statements.append(statement)

    sa_event.listen(bound.connection, "before_cursor_execute", seen)
    try:
        assert sweep(bound, stored.remind_at - timedelta(minutes=1), POLICY) == {}
        idle = list(statements)
        statements.clear()
        assert sweep(bound, stored.remind_at, POLICY) == {"sent": 1}
    finally:
        sa_event.remove(bound.connection, "before_cursor_execute", seen)
    # Nothing due: one SELECT asking all five passes (the parts' two too), no row locked.
    assert len(idle) == 1, idle
    # Three passes asked for their first row in order, the parts' two as EXISTS.
    assert idle[0].lstrip().upper().startswith("SELECT") and idle[0].count("EXISTS") == 2
    assert idle[0].count("LIMIT") == 5
    assert "FOR UPDATE" not in idle[0]
    # Something due: the probe, then the passes' own claiming statements.
    assert len(statements) > 1
    assert len(_outbox(db, event["id"], "reminder")) > 0

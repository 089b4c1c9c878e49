"""The SLA sweeper's passes over the assisting units' parts (协办, events/parts.py): each open
part is reminded once before its own deadline and marked overdue when it passes, as events are.

A reminder goes to the part's unit's handlers (SMS and app, keyed by part and deadline); an
overdue part turns red (`overdue_at`), a supervision order goes to that unit, and the town's
operators and the unit's head are told. Both are on the event's trail with the part's unit.
Events are locked first (as every step locks them), then their due parts are read; an event
in a final or suspended state is skipped (its parts stand still with it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import ColumnElement, Select, and_, select, text
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.events.escalation import EscalationPolicy, local_text
from fengqiao.events.models import OPEN_STATES_SQL, PART_OPEN_SQL, Event, EventPart
from fengqiao.events.parts import part_payload
from fengqiao.events.trail import buffered_trail, record_step
from fengqiao.outbox.service import Directory, Draft, drafts_for, enqueue
from fengqiao.supervision.service import default_reply_due, issue_order

REMIND_DUE = text(f"{PART_OPEN_SQL} AND reminded_at IS NULL")
OVERDUE_DUE = text(f"{PART_OPEN_SQL} AND overdue_at IS NULL")


def _remind_due(now: datetime) -> ColumnElement[bool]:
    return and_(REMIND_DUE, EventPart.remind_at <= now)


def _overdue_due(now: datetime) -> ColumnElement[bool]:
    return and_(OVERDUE_DUE, EventPart.due_at <= now)


def remind_part(
    db: Session, event: Event, part: EventPart, now: datetime, people: Directory, queue: list[Draft]
) -> str:
    """The one reminder of the part's deadline (or nothing when the deadline passed first)."""
    part.reminded_at = now
    assert part.due_at is not None
    if part.due_at <= now:
        return "part_late"
    payload = part_payload(people, event, part) | {"expires_at": part.due_at.isoformat()}
    drafts = drafts_for(
        people.unit_handlers(part.unit_id), channels=("sms", "app"), template="assist_reminder",
        payload=payload, key=f"part_remind:{part.id}:{part.due_at.isoformat()}",
        event_id=event.id,
    )  # fmt: skip
    queue.extend(drafts)
    record_step(
        db, event, now=now, action="part_remind", unit_id=part.unit_id,
        payload={"due_at": part.due_at.isoformat(), "messages": len(drafts)},
    )  # fmt: skip
    return "part_reminded"


def mark_part_overdue(
    db: Session,
    event: Event,
    part: EventPart,
    now: datetime,
    people: Directory,
    queue: list[Draft],
    policy: EscalationPolicy,
) -> str:
    """Red light on the part, a supervision order to its unit, the town and the unit's head told."""
    assert part.due_at is not None
    part.overdue_at = now
    order = issue_order(
        db, event, kind="overdue", now=now, policy=policy, unit_id=part.unit_id,
        requirement="协办事项已超期，请立即配合处置并反馈协办情况",
        due_at=default_reply_due(now, policy), people=people, queue=queue,
    )  # fmt: skip
    told = people.org_people(event.town_id, "operator") + people.unit_leaders(part.unit_id)
    payload = part_payload(people, event, part)
    payload.update(order=order.code, reply_due=local_text(default_reply_due(now, policy)))
    drafts = drafts_for(
        told, channels=("sms", "app"), template="assist_overdue", payload=payload,
        key=f"part_overdue:{part.id}:{part.due_at.isoformat()}", event_id=event.id,
    )  # fmt: skip
    queue.extend(drafts)
    record_step(
        db, event, now=now, action="part_overdue", unit_id=part.unit_id,
        payload={"due_at": part.due_at.isoformat(), "order": order.code, "messages": len(drafts)},
    )  # fmt: skip
    return "part_overdue"


def _owing_events(due: ColumnElement[bool], batch: int) -> Select[Event]:
    """Open, running events with a part owed something by `due`, oldest first."""
    owing = select(EventPart.event_id).where(due)
    return (
        select(Event)
        .where(Event.id.in_(owing), text(OPEN_STATES_SQL), Event.status != "suspended")
        .order_by(Event.id)
        .limit(batch)
    )


def parts_due(now: datetime, batch: int) -> list[Select[Event]]:
    """Both passes' statements (the sweeper's idle probe asks whether either has a row)."""
    return [_owing_events(_remind_due(now), batch), _owing_events(_overdue_due(now), batch)]


def sweep_parts(
    database: Database, now: datetime, policy: EscalationPolicy, *, batch: int = 200
) -> dict[str, int]:
    """Both passes over the open parts until nothing is due; counts of what happened."""
    counts: dict[str, int] = {}
    passes: list[tuple[Callable[[datetime], ColumnElement[bool]], str]] = [
        (_remind_due, "remind"),
        (_overdue_due, "overdue"),
    ]
    for due, kind in passes:
        while True:
            with database.transaction() as db:
                statement = _owing_events(due(now), batch)
                if not database.is_sqlite:
                    statement = statement.with_for_update(skip_locked=True, of=Event)
                events = list(db.scalars(statement))
                people, queue = Directory(db), list[Draft]()
                with buffered_trail(db):
                    for event in events:
                        parts = db.scalars(
                            select(EventPart)
                            .where(EventPart.event_id == event.id, due(now))
                            .order_by(EventPart.id)
                        )
                        for part in parts:
                            if kind == "remind":
                                outcome = remind_part(db, event, part, now, people, queue)
                            else:
                                outcome = mark_part_overdue(
                                    db, event, part, now, people, queue, policy
                                )
                            counts[outcome] = counts.get(outcome, 0) + 1
                enqueue(db, queue, now=now)
            if not events:
                break
    return counts

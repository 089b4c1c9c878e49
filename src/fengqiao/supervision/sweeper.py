"""The SLA sweeper: what a passing deadline does (DESIGN.md section 7).

Three passes, each selecting stored due times through a partial index that holds only the rows
still owed something, so a tick that finds nothing reads almost nothing:

1. reminders — open events of level ≥ 2 whose `remind_at` has come and whose reminder for the
   current deadline has not gone out: one SMS and in-app message to the owner unit's handlers and
   duty phone (the command room's operators while no unit owns it), keyed by event and deadline so
   it can never be sent twice; `reminded_at` marks it done.
2. overdue — open events whose `due_at` has passed and that are not marked overdue yet: the light
   turns red (`overdue_at`), a supervision order goes to the owner unit, the town's operators and
   the unit's head are told, and the escalation clock starts (`escalate_at`).
3. escalation — overdue events whose `escalate_at` has come climb one rung.

Each batch is one transaction; on PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`, so
several workers share the work. A tick first asks once, in one read statement (one `EXISTS` per
pass, the parts' two included), whether anything is due at all: an idle tick is that one round
trip, with no write transaction (nor SQLite's write lock) taken. Everything is on the event's trail. A suspended event's clock
stands still, so it is skipped until it resumes (resuming moves its deadline).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, Select, or_, select, text
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.events.changes import queue_change, state_of
from fengqiao.events.escalation import EscalationPolicy, climb, local_text, message_payload
from fengqiao.events.models import OPEN_STATES_SQL, OVERDUE_PENDING_SQL, REMINDER_PENDING_SQL, Event
from fengqiao.events.notices import announce
from fengqiao.events.trail import buffered_trail, record_step
from fengqiao.outbox.service import Directory, Draft, drafts_for, enqueue
from fengqiao.supervision.part_sweeper import parts_due, sweep_parts
from fengqiao.supervision.service import default_reply_due, issue_order

REMINDER_DUE = text(f"{OPEN_STATES_SQL} AND {REMINDER_PENDING_SQL}")
OVERDUE_DUE = text(f"{OPEN_STATES_SQL} AND {OVERDUE_PENDING_SQL}")
OPEN = text(OPEN_STATES_SQL)


def reminders_due(now: datetime, batch: int) -> Select[Event]:
    return (
        select(Event)
        .where(REMINDER_DUE, Event.remind_at <= now, Event.status != "suspended")
        .order_by(Event.remind_at)
        .limit(batch)
    )


def overdue_due(now: datetime, batch: int) -> Select[Event]:
    return (
        select(Event)
        .where(OVERDUE_DUE, Event.due_at <= now, Event.status != "suspended")
        .order_by(Event.due_at)
        .limit(batch)
    )


def escalations_due(now: datetime, batch: int) -> Select[Event]:
    return (
        select(Event)
        .where(OPEN, Event.escalate_at <= now, Event.status != "suspended")
        .order_by(Event.escalate_at)
        .limit(batch)
    )


@dataclass
class Batch:
    """One transaction of the sweeper: its session, the cached directory of people, and the
    messages its steps queue (written in one statement before the commit)."""

    db: Session
    now: datetime
    policy: EscalationPolicy
    people: Directory
    queue: list[Draft] = field(default_factory=list)


def remind(batch: Batch, event: Event) -> str:
    """Send the one reminder of the current deadline (or note that it came too late)."""
    now, people = batch.now, batch.people
    event.reminded_at = now
    assert event.due_at is not None
    if event.due_at <= now:  # the deadline passed first (a late worker): overdue takes over
        return "late"
    told = (
        people.unit_handlers(event.owner_unit_id)
        if event.owner_unit_id
        else people.org_people(event.town_id, "operator")
    )
    # "Due soon" is true only until the deadline: a reminder still queued then (the sender was
    # down) is dropped by the sender with its reason, never sent late (notify/sender.py).
    payload = message_payload(people, event) | {"expires_at": event.due_at.isoformat()}
    drafts = drafts_for(
        told, channels=("sms", "app"), template="reminder", payload=payload,
        key=f"remind:{event.id}:{event.due_at.isoformat()}", event_id=event.id,
    )  # fmt: skip
    batch.queue.extend(drafts)
    record_step(
        batch.db, event, now=now, action="remind", unit_id=event.owner_unit_id,
        payload={"due_at": event.due_at.isoformat(), "messages": len(drafts)},
    )  # fmt: skip
    return "sent"


def mark_overdue(batch: Batch, event: Event) -> str:
    """Red light, an automatic supervision order, the town and the unit's head told."""
    now, people, policy = batch.now, batch.people, batch.policy
    assert event.due_at is not None
    counted = state_of(event)
    event.overdue_at = now
    queue_change(batch.db, event_id=event.id, before=counted, now=now)
    order_code = None
    if event.owner_unit_id is not None:
        order = issue_order(
            batch.db, event, kind="overdue", now=now, policy=policy,
            requirement="事件已超期，请立即处置并说明超期原因及办结时限",
            due_at=default_reply_due(now, policy), people=people, queue=batch.queue,
        )  # fmt: skip
        order_code = order.code
    told = people.org_people(event.town_id, "operator")
    if event.owner_unit_id is not None:
        told += people.unit_leaders(event.owner_unit_id)
    payload = message_payload(people, event)
    payload.update(order=order_code or "", reply_due=local_text(default_reply_due(now, policy)))
    drafts = drafts_for(
        told, channels=("sms", "app"), template="overdue", payload=payload,
        key=f"overdue:{event.id}:{event.due_at.isoformat()}", event_id=event.id,
    )  # fmt: skip
    batch.queue.extend(drafts)
    event.escalate_at = policy.escalate_at(event)
    record_step(
        batch.db, event, now=now, action="overdue", unit_id=event.owner_unit_id,
        payload={
            "due_at": event.due_at.isoformat(), "order": order_code, "messages": len(drafts),
            "escalate_at": event.escalate_at.isoformat() if event.escalate_at else None,
        },
    )  # fmt: skip
    return "overdue"


def escalate(batch: Batch, event: Event) -> str:
    """An overdue event climbs a rung by itself; the rung is told as any climb's is."""
    payload = climb(batch.db, event, now=batch.now, reason="overdue", policy=batch.policy)
    if payload is None:
        event.escalate_at = None
        return "top"
    record_step(
        batch.db, event, now=batch.now, action="escalate", unit_id=event.owner_unit_id,
        payload=payload,
    )  # fmt: skip
    announce(
        batch.db, event, action="escalate", actor_id=None, now=batch.now, policy=batch.policy,
        reason="overdue", people=batch.people, queue=batch.queue,
    )  # fmt: skip
    return "escalated"


Step = Callable[[Batch, Event], str]
PASSES: list[tuple[Callable[[datetime, int], Select[Event]], Step]] = [
    (reminders_due, remind),
    (overdue_due, mark_overdue),
    (escalations_due, escalate),
]


def due_probe(now: datetime) -> Select[tuple[bool]]:
    """The one read-only statement saying whether any pass (the parts' included) has a row due.

    Each pass is asked for its first row in its own order (a scalar subquery keeps ORDER BY and
    LIMIT), so the database walks the pass's partial index from its start: in an EXISTS,
    PostgreSQL drops the order and may pick any index of the open events instead, which at 12
    million events filtered 85,000 open ones one by one (60 ms a tick instead of 1 ms)."""
    probes: list[ColumnElement[bool]] = [
        query(now, 1).with_only_columns(Event.id).scalar_subquery().is_not(None)
        for query, _ in PASSES
    ]
    probes += [statement.exists() for statement in parts_due(now, 1)]
    return select(or_(*probes))


def anything_due(database: Database, now: datetime) -> bool:
    """Whether any pass has a row due (`due_probe`)."""
    with database.session() as db:
        return bool(db.scalar(due_probe(now)))


def sweep(
    database: Database, now: datetime, policy: EscalationPolicy, *, batch: int = 500
) -> dict[str, int]:
    """One tick: every pass until nothing is due; counts of what happened."""
    counts: dict[str, int] = {}
    if not anything_due(database, now):
        return counts
    for query, step in PASSES:
        while True:
            with database.transaction() as db:
                statement = query(now, batch)
                if not database.is_sqlite:
                    statement = statement.with_for_update(skip_locked=True, of=Event)
                events = list(db.scalars(statement))
                work = Batch(db, now, policy, Directory(db))
                work.people.prefetch(
                    (e.owner_unit_id for e in events if e.owner_unit_id),
                    {i for e in events for i in (e.town_id, e.village_id)},
                )
                with buffered_trail(db):
                    for event in events:
                        outcome = step(work, event)
                        counts[outcome] = counts.get(outcome, 0) + 1
                enqueue(db, work.queue, now=now)
            if not events:  # every step takes its row out of the query, so this ends
                break
    # The assisting units' parts (协办) of joint events: their own reminders and red lights.
    for outcome, count in sweep_parts(database, now, policy).items():
        counts[outcome] = counts.get(outcome, 0) + count
    return counts

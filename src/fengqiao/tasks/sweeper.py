"""The tasks' sweeper: what a passing deadline does to a tracked task (modelled on the events'
sweeper, supervision/sweeper.py).

Two passes over stored due times, each through a partial index holding only the open tasks
still owed something:

1. reminders — open tasks whose `remind_at` has come and that were not reminded: ONE SMS and
   in-app message to the owner, keyed by task and due time so it can never go twice;
   `reminded_at` marks it done (a reminder found after the due time is skipped: overdue takes over).
2. overdue — open tasks whose `due_at` has passed and that are not marked: `overdue_at` is set
   (the light was already red by the clock), the owner and the area's operators are told.

Each batch is one transaction; on PostgreSQL rows are claimed with `FOR UPDATE SKIP LOCKED`.
One bad task never stops the batch: it is logged and the pass moves on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Select, select, text
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.outbox.service import Directory, Draft, drafts_for, enqueue
from fengqiao.tasks.models import TASK_OVERDUE_PENDING_SQL, TASK_REMINDER_PENDING_SQL, TrackedTask
from fengqiao.tasks.service import message_payload, owners, trail

log = logging.getLogger("fengqiao.tasks")

REMINDER_DUE = text(TASK_REMINDER_PENDING_SQL)
OVERDUE_DUE = text(TASK_OVERDUE_PENDING_SQL)


def reminders_due(now: datetime, batch: int) -> Select[TrackedTask]:
    return (
        select(TrackedTask)
        .where(REMINDER_DUE, TrackedTask.remind_at <= now)
        .order_by(TrackedTask.remind_at)
        .limit(batch)
    )


def overdue_due(now: datetime, batch: int) -> Select[TrackedTask]:
    return (
        select(TrackedTask)
        .where(OVERDUE_DUE, TrackedTask.due_at <= now)
        .order_by(TrackedTask.due_at)
        .limit(batch)
    )


def remind(db: Session, people: Directory, task: TrackedTask, now: datetime,
           queue: list[Draft]) -> str:  # fmt: skip
    """The one reminder of the task's deadline (or a note that it came too late)."""
    task.reminded_at = now
    if task.due_at <= now:
        return "late"
    payload = message_payload(people, task) | {"expires_at": task.due_at.isoformat()}
    drafts = drafts_for(
        owners(people, task), channels=("sms", "app"), template="task_reminder", payload=payload,
        key=f"task-remind:{task.id}:{task.due_at.isoformat()}",
    )  # fmt: skip
    queue.extend(drafts)
    trail(db, task, action="remind", actor_id=None, now=now,
          payload={"due_at": task.due_at.isoformat(), "messages": len(drafts)})  # fmt: skip
    return "reminded"


def mark_overdue(db: Session, people: Directory, task: TrackedTask, now: datetime,
                 queue: list[Draft]) -> str:  # fmt: skip
    """Red light on record; the owner, the owner unit's head and the area's operators told."""
    task.overdue_at = now
    told = owners(people, task)
    if task.owner_unit_id is not None:
        told += people.unit_leaders(task.owner_unit_id)
    told += people.org_people(task.town_id or task.org_id, "operator")
    drafts = drafts_for(
        told, channels=("sms", "app"), template="task_overdue",
        payload=message_payload(people, task),
        key=f"task-overdue:{task.id}:{task.due_at.isoformat()}",
    )  # fmt: skip
    queue.extend(drafts)
    trail(db, task, action="overdue", actor_id=None, now=now,
          payload={"due_at": task.due_at.isoformat(), "messages": len(drafts)})  # fmt: skip
    return "overdue"


Step = Callable[[Session, Directory, TrackedTask, datetime, list[Draft]], str]


def sweep(database: Database, now: datetime, *, batch: int = 500) -> dict[str, int]:
    """One tick: both passes until nothing is due; counts of what happened."""
    counts: dict[str, int] = {}
    passes: list[tuple[Callable[[datetime, int], Select[TrackedTask]], Step]] = [
        (reminders_due, remind),
        (overdue_due, mark_overdue),
    ]
    for query, step in passes:
        while True:
            with database.transaction() as db:
                statement = query(now, batch)
                if not database.is_sqlite:
                    statement = statement.with_for_update(skip_locked=True, of=TrackedTask)
                tasks = list(db.scalars(statement))
                people = Directory(db)
                queue: list[Draft] = []
                for task in tasks:
                    drafts: list[Draft] = []
                    try:
                        with db.begin_nested():
                            outcome = step(db, people, task, now, drafts)
                        queue.extend(drafts)
                    except Exception:  # one bad row never stops a batch
                        log.exception("task %s: %s failed", task.code, step.__name__)
                        outcome = "failed"
                        # Mark it so the pass ends; the failure is in the log.
                        if step is remind:
                            task.reminded_at = now
                        else:
                            task.overdue_at = now
                    counts[outcome] = counts.get(outcome, 0) + 1
                enqueue(db, queue, now=now)
            if not tasks:
                break
    return counts

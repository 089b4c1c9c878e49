"""Two sweepers at once act on each due event exactly once (PostgreSQL: SKIP LOCKED claims;
SQLite: writers queue)."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select, text, update

from fengqiao.db import Database
from fengqiao.demo.events import seed_events
from fengqiao.demo.seed import seed
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.models import OPEN_STATES_SQL, Event, EventLog
from fengqiao.outbox.models import Outbox
from fengqiao.supervision.sweeper import sweep

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
DUE = 120


def _prepare(database: Database) -> list[int]:
    seed(db=database, scale="small", password="pw")
    seed_events(db=database, count=600, until=NOW - timedelta(days=1))
    with database.transaction() as db:
        # What the seed left open is done with; DUE closed events reopen with a reminder due.
        db.execute(
            update(Event)
            .where(text(OPEN_STATES_SQL))
            .values(reminded_at=NOW, overdue_at=NOW, escalate_at=None)
        )
        ids = list(
            db.scalars(
                select(Event.id)
                .where(
                    Event.status == "closed",
                    Event.level >= 2,
                    Event.proposed_unit_id.is_not(None),
                )
                .order_by(Event.id)
                .limit(DUE)
            )
        )
        db.execute(
            update(Event)
            .where(Event.id.in_(ids))
            .values(
                status="signed", owner_unit_id=Event.proposed_unit_id, closed_at=None,
                due_at=NOW + timedelta(days=1), remind_at=NOW - timedelta(minutes=1),
                reminded_at=None, overdue_at=None, escalate_at=None,
            )
        )  # fmt: skip
    assert len(ids) == DUE
    return ids


def test_two_sweepers_remind_each_event_once(fresh_db: Database) -> None:
    ids = _prepare(fresh_db)
    results: list[dict[str, int]] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        database = Database(fresh_db.url)
        try:
            start.wait()
            results.append(sweep(database, NOW, EscalationPolicy(), batch=10))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    assert sum(r.get("sent", 0) for r in results) == DUE
    with fresh_db.session() as db:
        reminders = Counter(
            db.scalars(select(EventLog.event_id).where(EventLog.action == "remind"))
        )
        keys = db.scalar(select(func.count()).select_from(Outbox))
        distinct = db.scalar(select(func.count(func.distinct(Outbox.dedupe_key))))
    assert reminders == Counter(dict.fromkeys(ids, 1))
    assert keys is not None and keys == distinct and keys >= DUE
    assert sweep(fresh_db, NOW + timedelta(minutes=5), EscalationPolicy()) == {}

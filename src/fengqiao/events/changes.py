"""What changed: the events-owned queue of events whose rollup-relevant state moved.

A filing or a step notes, in its own transaction, that an event's counted state changed (one
small insert; nothing when the event is already waiting). The layers above read the queue:
analytics' `rollups` job takes each waiting event's change into the rollups and deletes its row.
`events` knows which columns the rollups read, never how they are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

# The columns of an event the rollups read; a change to any other leaves them as they are.
STATE_COLUMNS = (
    "status",
    "created_at",
    "town_id",
    "village_id",
    "grid_id",
    "category_code",
    "major_code",
    "platform",
    "level",
    "source",
    "reporter_id",
    "owner_unit_id",
    "accepted_at",
    "dispatched_at",
    "handled_at",
    "closed_at",
    "due_at",
    "overdue_at",
    "paused_seconds",
    "return_count",
    "rework_count",
    "satisfaction",
    "district_id",
)


@dataclass(frozen=True, slots=True)
class EventState:
    """The columns of one event the rollups depend on."""

    status: str
    created_at: datetime
    town_id: int
    village_id: int
    grid_id: int
    category_code: str
    major_code: str
    platform: str
    level: int
    source: str
    reporter_id: int
    owner_unit_id: int | None
    accepted_at: datetime | None
    dispatched_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    due_at: datetime | None
    overdue_at: datetime | None
    paused_seconds: float
    return_count: int
    rework_count: int
    satisfaction: int | None
    # The town's district (the district-keyed rollups' key); last, so a state built before it
    # existed reads as "none".
    district_id: int | None = None


def encode_state(state: EventState) -> str:
    """The state as JSON text (times in ISO 8601 with their offset), for the pending queue."""
    return orjson.dumps([getattr(state, name) for name in STATE_COLUMNS]).decode()


_TIME_COLUMNS = frozenset(
    name for name, kind in EventState.__annotations__.items() if "datetime" in str(kind)
)


def decode_state(text: str) -> EventState:
    """The inverse of `encode_state`."""
    values: list[Any] = [
        datetime.fromisoformat(value) if name in _TIME_COLUMNS and value else value
        for name, value in zip(STATE_COLUMNS, orjson.loads(text), strict=True)
    ]
    return EventState(*values)


def state_of(event: Any) -> EventState:
    """The rollup-relevant state of an ORM event or a mapping of its columns."""
    if isinstance(event, dict):
        values: list[Any] = [event.get(name) for name in STATE_COLUMNS]
        return EventState(*values)
    return EventState(*(getattr(event, name) for name in STATE_COLUMNS))


_QUEUE = {
    "?": "INSERT INTO rollup_pending (event_id, before, queued_at) VALUES (?, ?, ?) "
    "ON CONFLICT (event_id) DO NOTHING",
    "%s": "INSERT INTO rollup_pending (event_id, before, queued_at) VALUES (%s, %s, %s) "
    "ON CONFLICT (event_id) DO NOTHING",
}


def queue_change(db: Session, *, event_id: int, before: EventState | None, now: datetime) -> None:
    """Note, in the transaction of a filing or a step, that the event's rollups are owed.

    `before` is the state the rollups hold for it (None for a new event); when the event is
    already waiting, the older `before` stays — the worker takes all its changes at once.
    """
    connection = db.connection()
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    text = None if before is None else encode_state(before)
    at = now if connection.dialect.name != "sqlite" else _sqlite_text(now)
    connection.exec_driver_sql(_QUEUE[marker], (event_id, text, at))


def _sqlite_text(at: datetime) -> str:
    # The text SQLAlchemy's SQLite DateTime writes (UTC, no offset).
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

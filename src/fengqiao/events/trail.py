"""The tamper-evident trail (全流程留痕): each row's SHA-256 covers its content and the hash of
the previous row of the same event, so changing, removing or reordering a row breaks the chain.

`row_hash` is the one definition of a row's hash: the online path, the bulk loader and
`fengqiao audit verify` all call it; `append_log` is the one way a step writes its row.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from fengqiao import fanout
from fengqiao.events.models import Event, EventLog

GENESIS = ""


# The words of the trail's actions that are not steps of the transition table (those take
# their words from the table's rows): filing, the sweeper's reminders, red lights and
# supervision, added photos, and what IoT devices report.
TRAIL_ACTION_ZH = {
    "report": "上报",
    "remind": "到期提醒",
    "overdue": "超期亮红灯",
    "supervise": "督办",
    "attach": "补充照片",
    # Staff marked a photo 公开给上报人 or took it back (events/resident.py).
    "photo_public": "照片公开设置",
    "iot_alarm": "设备告警",
    "iot_repeat": "设备重复告警",
    "iot_recovery": "设备报告恢复",
    # The command room's alarms (command/alarms.py): taken by an operator, or climbed unanswered.
    "alarm_ack": "接警",
    "alarm_climb": "报警超时升级",
    # A video call placed from the event (calls/service.py): who, when, how long.
    "video_call": "视频通话",
    # An assisting unit's part (协办) nearing or past its own deadline (supervision/part_sweeper.py).
    "part_remind": "协办到期提醒",
    "part_overdue": "协办超期亮红灯",
}


def _canonical_time(at: datetime) -> str:
    """`%Y-%m-%dT%H:%M:%S.%fZ` in UTC; isoformat writes the same text several times faster."""
    return at.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def row_hash(
    *,
    prev_hash: str,
    event_id: int,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str,
    unit_id: int | None,
    note: str,
    payload: Mapping[str, Any],
) -> str:
    """SHA-256 (hex) of one trail row chained to the previous row's hash."""
    body = orjson.dumps(
        [
            prev_hash,
            event_id,
            seq,
            _canonical_time(at),
            actor_id,
            action,
            from_status,
            to_status,
            unit_id,
            note,
            payload,
        ],
        option=orjson.OPT_SORT_KEYS,
    )
    return hashlib.sha256(body).hexdigest()


@dataclass(frozen=True)
class BrokenLink:
    """The first row of an event's trail that does not verify, and why."""

    event_id: int
    event_code: str
    reason: str


def verify_rows(
    event_id: int, rows: Iterable[Mapping[str, Any]], head: tuple[int, str] | None = None
) -> str | None:
    """Why the trail rows of one event (in `seq` order) fail to chain, or None when they verify.

    `head` is the (seq, hash) the event row says its trail ends with; a cut-off tail fails.
    """
    prev, expected_seq = GENESIS, 1
    for row in rows:
        if row["seq"] != expected_seq:
            return f"row {expected_seq} is missing (found {row['seq']})"
        if row["prev_hash"] != prev:
            return f"row {row['seq']} does not point at the previous row"
        computed = row_hash(
            prev_hash=prev,
            event_id=event_id,
            seq=row["seq"],
            at=row["at"],
            actor_id=row["actor_id"],
            action=row["action"],
            from_status=row["from_status"],
            to_status=row["to_status"],
            unit_id=row["unit_id"],
            note=row["note"],
            payload=row["payload"] or {},
        )
        if computed != row["hash"]:
            return f"row {row['seq']} was altered (its hash does not match its content)"
        prev, expected_seq = row["hash"], expected_seq + 1
    if head is not None and head != (expected_seq - 1, prev):
        return f"the trail ends at row {expected_seq - 1} but the event expects row {head[0]}"
    return None


def verify_all(db: Session, *, batch: int = 2000) -> Iterator[tuple[int, BrokenLink | None]]:
    """Check every event's chain; yields (events checked so far, broken link or None) per batch.

    Reads events in id order and their trails in (event_id, seq) order, one batch at a time, so
    a district's millions of rows stream through in constant memory.
    """
    columns = [
        EventLog.event_id,
        EventLog.seq,
        EventLog.at,
        EventLog.actor_id,
        EventLog.action,
        EventLog.from_status,
        EventLog.to_status,
        EventLog.unit_id,
        EventLog.note,
        EventLog.payload,
        EventLog.prev_hash,
        EventLog.hash,
    ]
    last_id, checked = 0, 0
    while True:
        events = db.execute(
            select(Event.id, Event.code, Event.trail_seq, Event.trail_hash)
            .where(Event.id > last_id)
            .order_by(Event.id)
            .limit(batch)
        ).all()
        if not events:
            return
        first, last = events[0].id, events[-1].id
        by_event: dict[int, list[Any]] = {e.id: [] for e in events}
        for row in db.execute(
            select(*columns)
            .where(EventLog.event_id >= first, EventLog.event_id <= last)
            .order_by(EventLog.event_id, EventLog.seq)
        ).mappings():
            by_event.setdefault(row["event_id"], []).append(row)
        for event in events:
            reason = verify_rows(
                event.id, by_event.get(event.id, []), (event.trail_seq, event.trail_hash)
            )
            if reason is not None:
                yield checked, BrokenLink(event.id, event.code, reason)
            checked += 1
        orphans = set(by_event) - {e.id for e in events}
        if orphans:
            event_id = min(orphans)
            yield checked, BrokenLink(event_id, "?", "trail rows of an event that is gone")
        last_id = last
        yield checked, None


# --- writing ------------------------------------------------------------------------------

# A table-level Core statement built once: the ORM's per-call statement building cost more
# than the insert itself on the filing path.
_INSERT_LOG = insert(cast(Table, EventLog.__table__))
_TRAIL_BUFFER = "fengqiao_trail_buffer"


def append_log(
    db: Session,
    event: Event,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str,
    unit_id: int | None,
    note: str,
    payload: dict[str, Any],
    update_event: bool = True,
) -> None:
    """Insert the next trail row of `event`, chained to its head, and move the head."""
    seq = event.trail_seq + 1
    digest = row_hash(
        prev_hash=event.trail_hash, event_id=event.id, seq=seq, at=at, actor_id=actor_id,
        action=action, from_status=from_status, to_status=to_status, unit_id=unit_id,
        note=note, payload=payload,
    )  # fmt: skip
    row = {
        "event_id": event.id,
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "unit_id": unit_id,
        "note": note,
        "payload": payload,
        "prev_hash": event.trail_hash,
        "hash": digest,
        # The partition key (the event's filing time) and the shard key (migration 0040).
        "filed_at": event.created_at,
        "district_id": event.district_id,
    }
    buffer = db.info.get(_TRAIL_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        db.connection().execute(_INSERT_LOG, row)
    # Every step of an event passes here: filed, moved, an alarm taken or climbed. The open
    # live streams of its town (situation panel, alarm dialogs) hear of it on commit.
    fanout.notify(db, fanout.town_topic(event.town_id))
    if update_event:
        event.trail_seq, event.trail_hash = seq, digest
    else:  # a transient object mirrors the row the caller updates itself
        event.__dict__["trail_seq"], event.__dict__["trail_hash"] = seq, digest


@contextmanager
def buffered_trail(db: Session) -> Iterator[None]:
    """Collect the trail rows appended inside the block and insert them in one statement at its
    end (a sweeper batch writes a thousand). Rows carry their own sequence numbers and hashes,
    so the order they are inserted in does not matter; an error inserts none of them."""
    if db.info.get(_TRAIL_BUFFER) is not None:
        yield  # already buffering: the outer block writes them
        return
    rows: list[dict[str, Any]] = []
    db.info[_TRAIL_BUFFER] = rows
    try:
        yield
    finally:
        db.info.pop(_TRAIL_BUFFER, None)
    if rows:
        db.connection().execute(_INSERT_LOG, rows)


def record_step(
    db: Session,
    event: Event,
    *,
    now: datetime,
    action: str,
    payload: dict[str, Any],
    actor_id: int | None = None,
    unit_id: int | None = None,
    note: str = "",
) -> None:
    """A step that leaves the state as it is (a reminder, an order, a rung): on the trail, and a
    new version so a client holding the old one reloads before acting."""
    event.version += 1
    event.updated_at = now
    append_log(
        db, event, at=now, actor_id=actor_id, action=action, from_status=event.status,
        to_status=event.status, unit_id=unit_id, note=note, payload=payload,
    )  # fmt: skip


def trail(
    db: Session, event_id: int, filed_at: datetime | None = None, district_id: int | None = None
) -> list[EventLog]:
    """The event's trail rows, oldest first; given the event's created_at, PostgreSQL reads the
    one partition that holds them, and its district names the shard (migration 0040)."""
    statement = select(EventLog).where(EventLog.event_id == event_id)
    if filed_at is not None:
        statement = statement.where(EventLog.filed_at == filed_at)
    if district_id is not None:
        statement = statement.where(EventLog.district_id == district_id)
    return list(db.scalars(statement.order_by(EventLog.seq)))


def of_event(event: Event) -> list[Any]:
    """The conditions that find an event's trail rows: its id, its partition (filed_at) and its
    shard (district_id, when it has one)."""
    conditions: list[Any] = [EventLog.event_id == event.id, EventLog.filed_at == event.created_at]
    if event.district_id is not None:
        conditions.append(EventLog.district_id == event.district_id)
    return conditions

"""What Open311 publishes of an event's trail: `servicerequestupdates` (the mySociety extension
FixMyStreet polls) and the timeline of `extensions=true`. Which trail rows are public, their
words and their extended statuses come from `events.public` and nowhere else; this module only
reads the rows and shapes them.

Ids: `update_id` is a MAC (keyed BLAKE2b) of the trail row's id under the instance's secret (stable across
polls, so FixMyStreet does not record an update twice, and saying nothing about how many rows
the trail table holds); `service_request_id` is the request's public id (or, for a request
filed before public ids, its event code); a merged request names the request it joined.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any, cast

import orjson
from sqlalchemy import String, Table, and_, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from fengqiao.events.models import Event, EventLog
from fengqiao.events.public import PUBLIC_STEPS, public_note, public_step, public_words
from fengqiao.open311.models import Open311Request
from fengqiao.open311.render import iso
from fengqiao.taxonomy.snapshot import Rules

_log = cast(Table, EventLog.__table__)
_requests = cast(Table, Open311Request.__table__)
_events = cast(Table, Event.__table__)

_COLUMNS = (
    _log.c.id,
    _log.c.event_id,
    type_coerce(_log.c.at, String()).label("at"),
    _log.c.action,
    _log.c.to_status,
    _log.c.unit_id,
    _log.c.note,
    # As stored: only a merge's payload is read (orjson), not every row's through json.loads.
    type_coerce(_log.c.payload, String()).label("payload"),
    func.coalesce(_requests.c.public_id, _events.c.code).label("service_request_id"),
)


def public_rows() -> Any:
    """The clause that keeps the public trail rows: `PUBLIC_STEPS`' actions, and for the steps
    whose target the handler decides, only the state that makes them public."""
    plain = sorted({action for (action, state) in PUBLIC_STEPS if state is None})
    decided = [
        and_(_log.c.action == action, _log.c.to_status == state)
        for (action, state) in sorted(PUBLIC_STEPS, key=lambda k: (k[0], k[1] or ""))
        if state is not None
    ]
    return or_(_log.c.action.in_(plain), *decided)


def update_key(secret: bytes) -> bytes:
    """The key of update ids, derived from the instance's secret (BLAKE2 takes 64 bytes)."""
    return hashlib.sha256(b"open311-update:" + secret).digest()


def update_id(key: bytes, log_id: int) -> str:
    """An opaque, stable id of one public trail row: keyed BLAKE2b (a MAC; one call a row,
    several times cheaper than building an HMAC per row on a page of thousands)."""
    return hashlib.blake2b(str(log_id).encode(), key=key, digest_size=10).hexdigest()


def _payload(row: Any) -> dict[str, Any]:
    """A trail row's payload: JSON text (SQLite) or already a dict (PostgreSQL's driver)."""
    value = row.payload
    if isinstance(value, str | bytes):
        value = orjson.loads(value)
    return value if isinstance(value, dict) else {}


def _merged_into(db: Session, rows: Sequence[Any]) -> dict[str, str]:
    """Event code → the id the public knows it by (its Open311 public id, else its code)."""
    codes = {str(_payload(row).get("into_code") or "") for row in rows if row.action == "merge"} - {
        ""
    }
    if not codes:
        return {}
    named = dict(
        db.execute(
            select(_events.c.code, _requests.c.public_id)
            .select_from(_events)
            .join(_requests, _requests.c.event_id == _events.c.id)
            .where(_events.c.code.in_(sorted(codes)), _requests.c.public_id.is_not(None))
        ).all()
    )
    return {code: named.get(code) or code for code in codes}


Memo = dict[tuple[Any, ...], dict[str, Any] | None]


def _shape(rules: Rules, row: Any, merged: dict[str, str], memo: Memo) -> dict[str, Any] | None:
    """The public fields of one trail row (None: the row stays inside)."""
    fixed = _fixed(rules, row, merged, memo)
    if fixed is None:
        return None
    return {"service_request_id": row.service_request_id, **fixed, "updated_datetime": iso(row.at)}


def _fixed(rules: Rules, row: Any, merged: dict[str, str], memo: Memo) -> dict[str, Any] | None:
    """The fields a row shares with every row of the same step, unit, reason and merge target
    (a day's page repeats a few dozen of them thousands of times: `_memo` keeps them)."""
    into = (
        merged.get(str(_payload(row).get("into_code") or ""), "") if row.action == "merge" else ""
    )
    reason = public_note(row.action, row.note or "")
    memo_key = (row.action, row.to_status, row.unit_id, reason, into)
    if memo_key in memo:
        return memo[memo_key]
    step = public_step(row.action, row.to_status)
    fixed: dict[str, Any] | None = None
    if step is not None:
        unit = rules.units.by_id.get(row.unit_id) if row.unit_id is not None else None
        words = public_words(step, unit_name=unit.name if unit else "", payload={"into_code": into})
        attributes: dict[str, Any] = {"step": step.key, "open311_status": step.open311}
        if into:
            attributes["merged_into"] = into
        fixed = {
            "status": step.extended,
            "description": f"{words}：{reason}" if reason else words,
            "media_url": None,
            "external_status_code": step.key,
            "extended_attributes": attributes,
        }
    memo[memo_key] = fixed
    return fixed


def _statement(hidden: Collection[str]) -> Any:
    statement = (
        select(*_COLUMNS)
        .select_from(_log)
        .join(_requests, _requests.c.event_id == _log.c.event_id)
        .join(_events, _events.c.id == _log.c.event_id)
        .where(public_rows())
    )
    if hidden:
        statement = statement.where((_events.c.category_code + "").not_in(sorted(hidden)))
    return statement


def list_updates(
    *,
    db: Session,
    rules: Rules,
    secret: bytes,
    start: datetime,
    end: datetime,
    hidden: Collection[str],
    page: int,
    page_size: int,
) -> list[dict[str, Any]]:
    """The public updates of Open311 requests (classes not hidden) made from `start` to `end`,
    oldest first (the order FixMyStreet applies them in); a page after the last is empty."""
    rows = db.execute(
        _statement(hidden)
        .where(_log.c.at >= start, _log.c.at <= end)
        .order_by(_log.c.at, _log.c.event_id, _log.c.id)
        .limit(page_size)
        .offset((page - 1) * page_size)
    ).all()
    merged = _merged_into(db, rows)
    key = update_key(secret)
    memo: Memo = {}
    out = []
    for row in rows:
        shaped = _shape(rules, row, merged, memo)
        if shaped is not None:
            out.append({"update_id": update_id(key, row.id), **shaped})
    return out


def timelines(
    *, db: Session, rules: Rules, event_ids: Collection[int]
) -> dict[int, dict[str, Any]]:
    """`extended_attributes` of each event: its public steps (oldest first), the extended
    status of the latest one, and the request a merged one joined."""
    if not event_ids:
        return {}
    rows = db.execute(
        _statement(())
        .where(_log.c.event_id.in_(sorted(event_ids)))
        .order_by(_log.c.event_id, _log.c.seq)
    ).all()
    merged = _merged_into(db, rows)
    out: dict[int, dict[str, Any]] = {}
    memo: Memo = {}
    for row in rows:
        shaped = _shape(rules, row, merged, memo)
        if shaped is None:
            continue
        entry = out.setdefault(row.event_id, {"extended_status": "OPEN", "timeline": []})
        entry["extended_status"] = shaped["status"]
        entry["external_status_code"] = shaped["external_status_code"]
        if "merged_into" in shaped["extended_attributes"]:
            entry["merged_into"] = shaped["extended_attributes"]["merged_into"]
        entry["timeline"].append(
            {
                "step": shaped["external_status_code"],
                "status": shaped["status"],
                "description": shaped["description"],
                "datetime": shaped["updated_datetime"],
            }
        )
    return out

"""The event list: documented filters, sorting and cursor pagination, always within scope.

A grid worker's tasks (`task=verify`) and a unit's inbox (`task=inbox`) are filters of this one
query; the CSV export reads the same query in batches.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Query
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from fengqiao.db import Database
from fengqiao.errors import invalid
from fengqiao.events.models import OPEN_STATES, Event, EventLog, is_open
from fengqiao.events.schemas import SOURCES
from fengqiao.events.scope import event_scope
from fengqiao.events.workflow import STATES
from fengqiao.org.models import ChangeCounter
from fengqiao.org.service import GRIDS_COUNTER
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import RULES_COUNTER

ChangeMark = tuple[int, int, int]


# One round trip, as driver SQL: it runs on every cached read, where building the statement
# cost more than running it. The names are constants of the code, never input.
_CHANGE_MARK_SQL = (
    f"SELECT (SELECT max(id) FROM {EventLog.__tablename__}), "
    f"(SELECT value FROM {ChangeCounter.__tablename__} WHERE name = '{GRIDS_COUNTER}'), "
    f"(SELECT value FROM {ChangeCounter.__tablename__} WHERE name = '{RULES_COUNTER}')"
)


def change_mark(db: Session) -> ChangeMark:
    """What moves whenever an event changes, or a name shown beside one: the newest trail row
    (every filing and every step appends one; `event_log` is append-only, so the id only grows)
    and the `grids` and `rules` change counters (org unit, unit and class names). One indexed
    read; the read caches compare it on every request."""
    row = db.connection().exec_driver_sql(_CHANGE_MARK_SQL).one()
    return int(row[0] or 0), int(row[1] or 0), int(row[2] or 0)


def read_change_mark(database: Database) -> ChangeMark:
    """The change mark, in a session of its own (what the read caches' mark reader calls)."""
    with database.session() as db:
        return change_mark(db)


@functools.lru_cache(maxsize=4096)
def scope_key(principal: Principal) -> str:
    """The caller's event scope as SQL text with its values: callers with the same text read
    exactly the same events, so a cache keyed by it never hands one area's events to another."""
    clause = event_scope(principal)
    return str(clause.compile(compile_kwargs={"literal_binds": True}))


Sort = Literal["-created_at", "created_at", "-due_at", "due_at", "-updated_at", "updated_at"]
LIGHTS = ("green", "yellow", "red")


def _csv(value: str | None) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()] if value else []


def _ints(value: str | None, name: str) -> list[int]:
    try:
        return [int(part) for part in _csv(value)]
    except ValueError as exc:
        raise invalid(name, "a comma-separated list of ids", "应为逗号分隔的编号") from exc


@dataclass
class EventFilters:
    """The list's filters; every field is one documented query parameter."""

    status: list[str] = field(default_factory=list)
    light: list[str] = field(default_factory=list)
    level: list[int] = field(default_factory=list)
    category: list[str] = field(default_factory=list)
    platform: list[str] = field(default_factory=list)
    source: list[str] = field(default_factory=list)
    town: list[int] = field(default_factory=list)
    village: list[int] = field(default_factory=list)
    grid: list[int] = field(default_factory=list)
    unit: list[int] = field(default_factory=list)
    reporter: list[int] = field(default_factory=list)
    created_from: datetime | None = None
    created_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    overdue: bool | None = None
    q: str | None = None
    task: str | None = None


async def event_filters(
    status: Annotated[str | None, Query(description="States, comma-separated.")] = None,
    light: Annotated[str | None, Query(description="green, yellow, red (open events).")] = None,
    level: Annotated[str | None, Query(description="Levels 1-4, comma-separated.")] = None,
    category: Annotated[
        str | None, Query(description="Class codes (4 digits) or major codes (2 digits).")
    ] = None,
    platform: Annotated[str | None, Query(description="governance, market, ...")] = None,
    source: Annotated[str | None, Query(description="grid_worker, resident, ...")] = None,
    town: Annotated[str | None, Query(description="Town org ids.")] = None,
    village: Annotated[str | None, Query(description="Village org ids.")] = None,
    grid: Annotated[str | None, Query(description="Grid org ids.")] = None,
    unit: Annotated[str | None, Query(description="Owner unit ids.")] = None,
    reporter: Annotated[str | None, Query(description="Reporter user ids.")] = None,
    created_from: Annotated[datetime | None, Query(description="Filed at or after.")] = None,
    created_to: Annotated[datetime | None, Query(description="Filed before.")] = None,
    closed_from: Annotated[datetime | None, Query(description="Closed at or after.")] = None,
    closed_to: Annotated[datetime | None, Query(description="Closed before.")] = None,
    overdue: Annotated[
        bool | None, Query(description="true: open and past the deadline; false: not.")
    ] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="Text in code, title, description, address.")
    ] = None,
    task: Annotated[
        Literal["verify", "inbox"] | None,
        Query(description="verify: waiting for my verification; inbox: my unit's open events."),
    ] = None,
) -> EventFilters:
    """Parse and check the list's query parameters."""
    filters = EventFilters(
        status=_csv(status), light=_csv(light), level=_ints(level, "level"),
        category=_csv(category), platform=_csv(platform), source=_csv(source),
        town=_ints(town, "town"), village=_ints(village, "village"), grid=_ints(grid, "grid"),
        unit=_ints(unit, "unit"), reporter=_ints(reporter, "reporter"),
        created_from=created_from, created_to=created_to, closed_from=closed_from,
        closed_to=closed_to, overdue=overdue, q=q or None, task=task,
    )  # fmt: skip
    for name, values, allowed in (
        ("status", filters.status, STATES),
        ("light", filters.light, LIGHTS),
        ("source", filters.source, SOURCES),
    ):
        unknown = sorted(set(values) - set(allowed))
        if unknown:
            raise invalid(
                name,
                f"unknown value {', '.join(unknown)}; use {', '.join(sorted(allowed))}",
                f"取值 {'、'.join(unknown)} 无效",
            )
    for moment in ("created_from", "created_to", "closed_from", "closed_to"):
        value = getattr(filters, moment)
        if value is not None and value.tzinfo is None:
            raise invalid(moment, "give a time zone, e.g. 2026-11-28T08:00+08:00", "时间须带时区")
    return filters


def _in(column: Any, values: list[Any]) -> ColumnElement[bool]:
    clause: ColumnElement[bool] = column == values[0] if len(values) == 1 else column.in_(values)
    return clause


def where_clauses(
    filters: EventFilters, principal: Principal, now: datetime
) -> list[ColumnElement[bool] | TextClause]:
    """The WHERE of the list: the caller's scope plus every filter given."""
    # Conditions are SQL expressions, plus the open-states text that partial indexes match.
    # A unit's inbox is its own scope: whatever the unit owns shows there (dispatch only gives
    # a unit events it serves), without the trail lookup of a handler's wider scope.
    clauses: list[ColumnElement[bool] | TextClause] = (
        [] if filters.task == "inbox" else [event_scope(principal)]
    )
    f = filters
    for column, values in (
        (Event.status, f.status), (Event.level, f.level), (Event.platform, f.platform),
        (Event.source, f.source), (Event.town_id, f.town), (Event.village_id, f.village),
        (Event.grid_id, f.grid), (Event.owner_unit_id, f.unit), (Event.reporter_id, f.reporter),
    ):  # fmt: skip
        if values:
            clauses.append(_in(column, values))
    if f.category:
        minors = [c for c in f.category if len(c) > 2]
        majors = [c for c in f.category if len(c) <= 2]
        parts = []
        if minors:
            parts.append(_in(Event.category_code, minors))
        if majors:
            parts.append(_in(Event.major_code, majors))
        clauses.append(or_(*parts))
    if f.created_from:
        clauses.append(Event.created_at >= f.created_from)
    if f.created_to:
        clauses.append(Event.created_at < f.created_to)
    if f.closed_from:
        clauses.append(Event.closed_at >= f.closed_from)
    if f.closed_to:
        clauses.append(Event.closed_at < f.closed_to)
    running = and_(is_open(), Event.status != "suspended")
    if f.overdue is True:
        clauses += [is_open(), Event.due_at <= now]
    elif f.overdue is False:
        clauses.append(
            or_(Event.due_at.is_(None), Event.due_at > now, ~Event.status.in_(OPEN_STATES))
        )
    if f.light:
        lights = []
        if "red" in f.light:
            lights.append(Event.due_at <= now)
        if "yellow" in f.light:
            lights.append(and_(Event.yellow_at <= now, Event.due_at > now))
        if "green" in f.light:
            lights.append(Event.yellow_at > now)
        clauses += [running, or_(*lights)]
    if f.q:
        escaped = f.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        clauses.append(
            or_(
                Event.code.like(pattern, escape="\\"),
                Event.title.like(pattern, escape="\\"),
                Event.description.like(pattern, escape="\\"),
                Event.address.like(pattern, escape="\\"),
            )
        )
    if f.task == "verify":
        clauses += [
            Event.status == "handled",
            or_(
                and_(Event.source == "grid_worker", Event.reporter_id == principal.user_id),
                and_(
                    Event.source != "grid_worker",
                    event_scope(principal) if principal.has_any("grid_worker") else false(),
                ),
            ),
        ]
    elif f.task == "inbox":
        clauses += [
            Event.owner_unit_id == (principal.unit_id or -1),
            Event.status.in_(("dispatched", "signed")),
        ]
    return clauses


_SORT_COLUMNS = {
    "created_at": Event.created_at,
    "due_at": Event.due_at,
    "updated_at": Event.updated_at,
}


def encode_cursor(value: datetime | None, event_id: int) -> str:
    raw = orjson.dumps([value.isoformat() if value else None, event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime | None, int]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, event_id = orjson.loads(base64.urlsafe_b64decode(padded))
        return (datetime.fromisoformat(value) if value else None), int(event_id)
    except (ValueError, TypeError, orjson.JSONDecodeError) as exc:
        raise invalid("cursor", "not a cursor this list gave out", "翻页游标无效") from exc


def list_query(
    filters: EventFilters, principal: Principal, now: datetime, *, sort: Sort, cursor: str | None
) -> Select[Any]:
    """The SELECT for one page (without LIMIT)."""
    name = sort.lstrip("-")
    column = _SORT_COLUMNS[name]
    descending = sort.startswith("-")
    clauses = where_clauses(filters, principal, now)
    if name == "due_at":
        clauses.append(Event.due_at.is_not(None))
    if cursor:
        value, last_id = decode_cursor(cursor)
        if value is None:
            raise invalid("cursor", "not a cursor of this sort order", "翻页游标与排序不符")
        if descending:
            clauses.append(or_(column < value, and_(column == value, Event.id < last_id)))
        else:
            clauses.append(or_(column > value, and_(column == value, Event.id > last_id)))
    order = (column.desc(), Event.id.desc()) if descending else (column.asc(), Event.id.asc())
    return select(Event).where(*clauses).order_by(*order)


def page(
    db: Session,
    filters: EventFilters,
    principal: Principal,
    now: datetime,
    *,
    sort: Sort = "-created_at",
    cursor: str | None = None,
    size: int = 50,
) -> tuple[list[Event], str | None]:
    """One page of events and the cursor of the next (None on the last page)."""
    rows = list(
        db.scalars(list_query(filters, principal, now, sort=sort, cursor=cursor).limit(size + 1))
    )
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        last = rows[-1]
        next_cursor = encode_cursor(getattr(last, sort.lstrip("-")), last.id)
    return rows, next_cursor


def count(db: Session, filters: EventFilters, principal: Principal, now: datetime) -> int:
    return (
        db.scalar(
            select(func.count()).select_from(Event).where(*where_clauses(filters, principal, now))
        )
        or 0
    )


def stream(
    db: Session,
    filters: EventFilters,
    principal: Principal,
    now: datetime,
    *,
    sort: Sort,
    limit: int,
    batch: int = 2000,
) -> Iterator[Event]:
    """Every matching event in sort order, read a page at a time (for the CSV export)."""
    cursor, sent = None, 0
    while sent < limit:
        rows, cursor = page(
            db, filters, principal, now, sort=sort, cursor=cursor, size=min(batch, limit - sent)
        )
        yield from rows
        sent += len(rows)
        db.expunge_all()
        if cursor is None:
            return

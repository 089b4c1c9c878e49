"""The event list: documented filters, sorting and cursor pagination, always within scope.

A grid worker's tasks (`task=verify`) and a unit's inbox (`task=inbox`) are filters of this one
query; the CSV export reads the same query in batches.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import Query
from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select, sql, text
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

from fengqiao.db import Database
from fengqiao.errors import invalid
from fengqiao.events.models import OPEN_STATES, Event, EventLog, is_open
from fengqiao.events.schemas import SOURCES
from fengqiao.events.scope import event_scope, scope_district
from fengqiao.events.workflow import FINAL, STATES
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


LIGHTS = ("green", "yellow", "red")
# The most ids one list or export may name (`ids`): a page's selection, with room to spare.
MAX_IDS = 500


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
    city: list[int] = field(default_factory=list)
    district: list[int] = field(default_factory=list)
    town: list[int] = field(default_factory=list)
    village: list[int] = field(default_factory=list)
    grid: list[int] = field(default_factory=list)
    unit: list[int] = field(default_factory=list)
    reporter: list[int] = field(default_factory=list)
    ids: list[int] = field(default_factory=list)
    created_from: datetime | None = None
    created_to: datetime | None = None
    closed_from: datetime | None = None
    closed_to: datetime | None = None
    overdue: bool | None = None
    q: str | None = None
    task: str | None = None
    # The towns of each `city` / `district` filter, checked against the caller's scope by
    # `events.areas.resolve_areas` (which needs a session) before the query is built.
    area_towns: tuple[tuple[int, ...], ...] | None = None


async def event_filters(
    status: Annotated[str | None, Query(description="States, comma-separated.")] = None,
    light: Annotated[str | None, Query(description="green, yellow, red (open events).")] = None,
    level: Annotated[str | None, Query(description="Levels 1-4, comma-separated.")] = None,
    category: Annotated[
        str | None, Query(description="Class codes (4 digits) or major codes (2 digits).")
    ] = None,
    platform: Annotated[str | None, Query(description="governance, market, ...")] = None,
    source: Annotated[str | None, Query(description="grid_worker, resident, ...")] = None,
    city: Annotated[
        str | None, Query(max_length=2000, description="City org ids (in your scope).")
    ] = None,
    district: Annotated[
        str | None, Query(max_length=2000, description="District org ids (in your scope).")
    ] = None,
    town: Annotated[str | None, Query(description="Town org ids.")] = None,
    village: Annotated[str | None, Query(description="Village org ids.")] = None,
    grid: Annotated[str | None, Query(description="Grid org ids.")] = None,
    unit: Annotated[str | None, Query(description="Owner unit ids.")] = None,
    reporter: Annotated[str | None, Query(description="Reporter user ids.")] = None,
    ids: Annotated[
        str | None,
        Query(
            max_length=8000,
            description=f"Event ids, comma-separated, at most {MAX_IDS} (the rows a user "
            "selected, e.g. to export them).",
        ),
    ] = None,
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
        city=_ints(city, "city"), district=_ints(district, "district"),
        town=_ints(town, "town"), village=_ints(village, "village"), grid=_ints(grid, "grid"),
        unit=_ints(unit, "unit"), reporter=_ints(reporter, "reporter"), ids=_ints(ids, "ids"),
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
    if len(filters.ids) > MAX_IDS:
        raise invalid("ids", f"at most {MAX_IDS} ids", f"最多 {MAX_IDS} 个事件")
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
        (Event.id, f.ids),
    ):  # fmt: skip
        if values:
            clauses.append(_in(column, values))
    if f.city or f.district:
        if f.area_towns is None:
            raise ValueError("resolve the city and district filters first (events.areas)")
        clauses += [_in(Event.town_id, list(t)) if t else false() for t in f.area_towns]
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


# --- sorting and cursors ---------------------------------------------------------------------
#
# Every sort is a list of segments read one after the other: each segment is a WHERE of its own
# and an order by one column and the id (or the id alone). A plain column is one segment (and a
# second one for its empty values, always last: SQLite and PostgreSQL put NULL at opposite
# ends); an order of ranks (status in the loop's order; urgency: red, yellow, green ...) is one
# segment per rank. Each segment's query walks an index in order and stops at the page's end, so
# no sort ever orders the whole table; the cursor names the segment and the key within it.

# The loop's order of states, for sort=status.
STATUS_ORDER = (
    "reported", "accepted", "dispatched", "signed", "handled", "self_handled", "suspended",
    "closed", "rejected", "voided", "merged",
)  # fmt: skip
# Sortable keys: the column each orders by (None: ranks, see `segments`).
SORT_COLUMNS: dict[str, Any] = {
    "created_at": Event.created_at,
    "updated_at": Event.updated_at,
    "due_at": Event.due_at,
    "category": Event.category_code,
    "unit": Event.owner_unit_id,
    "town": Event.town_id,
    "status": None,
    "urgency": None,
}
SORTS: tuple[str, ...] = tuple(f"{sign}{key}" for key in SORT_COLUMNS for sign in ("", "-"))
Sort = str  # one of SORTS; `parse_sort` checks
DEFAULT_SORT = "-created_at"
# A worker's tasks and a unit's inbox: the most urgent first.
TASK_SORT = {"verify": "urgency", "inbox": "urgency"}
_NULLABLE = frozenset({"due_at", "unit"})


def parse_sort(value: str | None, task: str | None = None) -> Sort:
    """The `sort` parameter checked against the whitelist; absent: the task's default order."""
    if value is None or value == "":
        return TASK_SORT.get(task or "", DEFAULT_SORT)
    if value not in SORTS:
        raise invalid(
            "sort",
            f"unknown sort {value[:40]!r}; use one of {', '.join(SORTS)}",
            "排序方式无效，请点击列标题排序",
        )
    return value


@dataclass(frozen=True)
class Segment:
    """One part of a sort: its rows (`where`) in the order of `column` then id (id alone when
    `column` is None)."""

    where: tuple[ColumnElement[bool] | TextClause, ...]
    column: Any
    descending: bool


def segments(sort: Sort, now: datetime, filters: EventFilters | None = None) -> list[Segment]:
    """The segments of `sort`, in the order they are read."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")
    if key == "status":
        wanted = set(filters.status) if filters and filters.status else set(STATUS_ORDER)
        ranks = [s for s in STATUS_ORDER if s in wanted]
        return [
            Segment((Event.status == state,), None, descending)
            for state in (reversed(ranks) if descending else ranks)
        ]
    if key == "urgency":
        running = (is_open(), Event.status != "suspended")
        due = Event.due_at
        lights = [
            Segment((*running, due <= now), due, descending),  # red
            Segment((*running, due > now, Event.yellow_at <= now), due, descending),  # yellow
            # Green: no yellow moment yet (none set counts as the deadline's). One expression,
            # not `yellow_at > now OR yellow_at IS NULL`: PostgreSQL's statistics put almost no
            # row after now in that column and estimated one green event, so it sorted them all
            # (docs/benchmarks.md, "The event list sorted"); on the expression it walks in order.
            Segment(
                (*running, due > now, func.coalesce(Event.yellow_at, due) > now), due, descending
            ),
        ]
        if descending:
            lights.reverse()  # green first: the running events least urgent first
        # Then the events that wait for no one's step (suspended, then finished), then those
        # without a deadline, whichever the direction: the lights are what the order is for.
        return [
            *lights,
            Segment((Event.status == "suspended", due.is_not(None)), due, descending),
            Segment((Event.status.in_(sorted(FINAL)), due.is_not(None)), due, descending),
            Segment((due.is_(None),), None, descending),
        ]
    column = SORT_COLUMNS[key]
    if key in _NULLABLE:
        return [
            Segment((column.is_not(None),), column, descending),
            Segment((column.is_(None),), None, descending),
        ]
    return [Segment((), column, descending)]


def encode_cursor(sort: Sort, segment: int, value: Any, event_id: int) -> str:
    """Where the next page starts: the sort, the segment and the last row's key in it."""
    if isinstance(value, datetime):
        value = {"t": value.isoformat()}
    raw = orjson.dumps([sort, segment, value, event_id])
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> tuple[int, Any, int]:
    """(segment, key value, id) of a cursor this list gave out for `sort`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        given, segment, value, event_id = orjson.loads(base64.urlsafe_b64decode(padded))
        if isinstance(value, dict):
            value = datetime.fromisoformat(value["t"])
        elif value is not None and not isinstance(value, (int, str)):
            raise TypeError("a key is a time, a number or a text")
        segment, event_id = int(segment), int(event_id)
    except (ValueError, TypeError, KeyError, orjson.JSONDecodeError) as exc:
        raise invalid("cursor", "not a cursor this list gave out", "翻页游标无效") from exc
    if given != sort:
        raise invalid("cursor", "not a cursor of this sort order", "翻页游标与排序不符")
    return segment, value, event_id


def _after(segment: Segment, value: Any, last_id: int) -> ColumnElement[bool]:
    """Rows of `segment` after the key (value, last_id) in its order."""
    if segment.column is None:
        return Event.id < last_id if segment.descending else Event.id > last_id
    if value is None:
        raise invalid("cursor", "not a cursor of this sort order", "翻页游标与排序不符")
    column = segment.column
    if segment.descending:
        return or_(column < value, and_(column == value, Event.id < last_id))
    return or_(column > value, and_(column == value, Event.id > last_id))


def _segment_query(
    clauses: list[ColumnElement[bool] | TextClause],
    segment: Segment,
    after: tuple[Any, int] | None,
) -> Select[Any]:
    where = [*clauses, *segment.where]
    if after is not None:
        where.append(_after(segment, *after))
    keys = ([segment.column] if segment.column is not None else []) + [Event.id]
    order = [k.desc() if segment.descending else k.asc() for k in keys]
    return select(Event).where(*where).order_by(*order)


def _start(parts: list[Segment], sort: Sort, cursor: str | None) -> tuple[int, Any]:
    """The segment a page starts in and the key it starts after (None: from its beginning)."""
    if not cursor:
        return 0, None
    index, value, last_id = decode_cursor(cursor, sort)
    if not 0 <= index < len(parts):
        raise invalid("cursor", "not a cursor of this sort order", "翻页游标与排序不符")
    return index, (value, last_id)


def list_query(
    filters: EventFilters, principal: Principal, now: datetime, *, sort: Sort, cursor: str | None
) -> Select[Any]:
    """The SELECT (without LIMIT) of the segment a page starts in: the first, or the cursor's.
    `page` reads on into the next segments while the page is not full."""
    parts = segments(sort, now, filters)
    index, after = _start(parts, sort, cursor)
    return _segment_query(where_clauses(filters, principal, now), parts[index], after)


def list_districts(
    filters: EventFilters, principal: Principal, town_districts: Mapping[int, int]
) -> list[int]:
    """The districts a list's rows all lie in, when known without a query: the caller's own
    (area staff at or below a district) or the districts of the towns asked for (a town's
    district is its parent, `Rules.town_districts`). Empty: not known, no filter. Added to the
    WHERE as `district_id`, it changes no answer and names the shard (docs/scaling.md)."""
    if filters.task != "inbox":  # a unit's inbox is not limited by the caller's area
        own = scope_district(principal)
        if own is not None:
            return [own]
    if filters.town:
        found = [town_districts.get(town) for town in filters.town]
        if all(district is not None for district in found):
            return sorted({district for district in found if district is not None})
    return []


def _with_districts(
    clauses: list[ColumnElement[bool] | TextClause], districts: Collection[int]
) -> list[ColumnElement[bool] | TextClause]:
    return [*clauses, _in(Event.district_id, sorted(districts))] if districts else clauses


def page(
    db: Session,
    filters: EventFilters,
    principal: Principal,
    now: datetime,
    *,
    sort: Sort = DEFAULT_SORT,
    cursor: str | None = None,
    size: int = 50,
    districts: Collection[int] = (),
) -> tuple[list[Event], str | None]:
    """One page of events and the cursor of the next (None on the last page); `districts`
    (`list_districts`) narrows the WHERE to the shard key the rows are known to carry."""
    parts = segments(sort, now, filters)
    index, after = _start(parts, sort, cursor)
    clauses = _with_districts(where_clauses(filters, principal, now), districts)
    rows: list[tuple[int, Event]] = []
    # PostgreSQL's statistics cannot see that open events are the ones whose deadlines lie
    # ahead: it expects a handful of green events, sorts them all, and reads thousands (28 ms at
    # the bare limit at 1.1 M events). Within these queries only, it walks the open-deadline
    # index in order instead (it still sorts where no index gives the order).
    walk = sort.lstrip("-") == "urgency" and db.get_bind().dialect.name == "postgresql"
    if walk:
        db.execute(text("SET LOCAL enable_sort = off"))
    while index < len(parts) and len(rows) <= size:
        statement = _segment_query(clauses, parts[index], after).limit(size + 1 - len(rows))
        rows += [(index, event) for event in db.scalars(statement)]
        index, after = index + 1, None
    if walk:
        db.execute(text("SET LOCAL enable_sort = on"))
    more = len(rows) > size
    rows = rows[:size]
    next_cursor = None
    if more and rows:
        at, last = rows[-1]
        column = parts[at].column
        value = getattr(last, column.key) if column is not None else None
        next_cursor = encode_cursor(sort, at, value, last.id)
    return [event for _at, event in rows], next_cursor


# Supervision orders (督办), read by table name: the supervision package sits above events
# (it imports them), so events may not import its model. The name, `event_id` and the `open`
# status are the contract; tests/events/test_event_center.py fails when they drift.
_ORDERS = sql.table("supervision_order", sql.column("event_id"), sql.column("status"))


def supervised(db: Session, event_ids: Collection[int]) -> set[int]:
    """Which of these events have an open supervision order (one query on the orders' event
    index, for a page of the list)."""
    if not event_ids:
        return set()
    query = (
        select(_ORDERS.c.event_id)
        .where(_ORDERS.c.event_id.in_(sorted(set(event_ids))), _ORDERS.c.status == "open")
        .distinct()
    )
    return {int(event_id) for event_id in db.scalars(query)}


def count(
    db: Session,
    filters: EventFilters,
    principal: Principal,
    now: datetime,
    districts: Collection[int] = (),
) -> int:
    clauses = _with_districts(where_clauses(filters, principal, now), districts)
    return db.scalar(select(func.count()).select_from(Event).where(*clauses)) or 0


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

"""Counters of a past period as things stood at a past moment: what the rollups held then.

A period not yet over (the 1st to the 5th, today the 5th) is compared with the same days of the
month before *as of the same moment of that month*, so both sets of events have had equally
long to be handled; the rollups hold only what has become of the events by now.

`sums_as_of` is one grouped query over the events filed in those days (the `created_at` index):
each cohort counter of `analytics.facts.entries` restated for the event as it stood at the
moment. A step taken after the moment has not happened yet: a time after it counts as no time,
and a state reached after it as the state before. Where the event's own columns cannot say —
counts without times (returns, reworks), a dispatch or feedback time overwritten by a later
one, a red light cleared by a later deadline, a rating — and the event changed after the moment,
its trail up to the moment is read, for those events only. The result equals the rollups of that
moment (tests/assessment/test_like_for_like.py compares it with a snapshot taken then, after
returns, reworks, re-dispatches, red lights, ratings and closings that came later); a counter
added to the cohort entry and used by the assessment must be added here as well.

What stood at a past moment does not change when later steps are taken, so an answer is kept
for `KEEP` (per database engine, at most `KEPT` answers): the comparison's moment moves by the
hour (periods.py), and a page opened again within the hour reads nothing again. An edit of a
past event's own columns (its class, its place) shows once the kept answer has expired.
"""

from __future__ import annotations

import threading
import time as clock_time
import weakref
from collections import OrderedDict
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    and_,
    case,
    cast,
    exists,
    extract,
    func,
    not_,
    or_,
    select,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, aliased

from fengqiao.analytics.query import Aggregate, Scope
from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Event, EventLog

KEEP = timedelta(hours=1)
KEPT = 64
_kept: weakref.WeakKeyDictionary[Engine, OrderedDict[tuple[Any, ...], tuple[float, Aggregate]]]
_kept = weakref.WeakKeyDictionary()
_kept_lock = threading.Lock()

# The dimensions an assessment groups by that never change after filing.
_FIXED = ("town_id", "village_id", "grid_id", "category_code", "major_code", "platform", "level",
          "source", "reporter_id")  # fmt: skip


def _utc(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ).astimezone(UTC)


class _Moment:
    """The event (the `Event` columns of the row at hand) as it stood at `cutoff`."""

    def __init__(self, cutoff: datetime, dialect: str) -> None:
        self.cutoff, self.dialect = cutoff, dialect
        # Changed since the moment: only then can a column be later than it or a count too high.
        self.changed = Event.updated_at > cutoff

    def trail(self, *conditions: ColumnElement[bool]) -> ColumnElement[bool]:
        """A step of the event's trail up to the moment."""
        return exists().where(
            EventLog.event_id == Event.id, EventLog.at <= self.cutoff, *conditions
        )

    def trail_count(self, *conditions: ColumnElement[bool]) -> Any:
        return (
            select(func.count())
            .where(EventLog.event_id == Event.id, EventLog.at <= self.cutoff, *conditions)
            .scalar_subquery()
        )

    def ended_as(self, status: str) -> ColumnElement[bool]:
        """Closed, rejected, voided or merged by then (each of these sets `closed_at`, once)."""
        return and_(Event.status == status, Event.closed_at <= self.cutoff)

    def counters(self) -> dict[str, Any]:
        """Each assessment counter of the event then, as an integer expression."""
        cut, changed = self.cutoff, self.changed
        closed = self.ended_as("closed")
        # Resolved on the spot by then: self-handled, not closed yet.
        self_handled = or_(
            and_(not_(changed), Event.status == "self_handled"),
            and_(changed, Event.dispatched_at.is_(None),
                 Event.status.in_(("self_handled", "closed")), not_(closed),
                 self.trail(EventLog.action == "self_handle")),
        )  # fmt: skip
        handled = or_(
            Event.handled_at <= cut,
            closed,
            self_handled,
            # A rework's new feedback overwrote the time of the one before.
            and_(changed, Event.rework_count > 0,
                 self.trail(EventLog.action.in_(("feedback", "close", "recover")))),
        )  # fmt: skip
        dispatched = or_(
            Event.dispatched_at <= cut,
            # A return's new dispatch overwrote the time of the one before.
            and_(changed, Event.return_count > 0, self.trail(EventLog.action == "dispatch")),
        )
        returns = case(
            (and_(changed, Event.return_count > 0), self.trail_count(EventLog.action == "return")),
            else_=Event.return_count,
        )
        reworks = case(
            (and_(changed, Event.rework_count > 0),
             self.trail_count(EventLog.action == "verify", EventLog.to_status == "signed")),
            else_=Event.rework_count,
        )  # fmt: skip
        rated = and_(
            closed,
            Event.satisfaction > 0,
            or_(not_(changed), self.trail(EventLog.action == "rate")),
        )
        return {
            "new": 1,
            "accepted": Event.accepted_at <= cut,  # accepted or self-handled, once
            "dispatched": dispatched,
            "handled": handled,
            "closed": closed,
            "closed_on_time": and_(
                closed, or_(Event.due_at.is_(None), Event.closed_at <= Event.due_at)
            ),
            "overdue": self._overdue(),
            "rejected": self.ended_as("rejected"),
            "voided": self.ended_as("voided"),
            "merged": self.ended_as("merged"),
            "returned_events": returns > 0,
            "reworked_events": reworks > 0,
            "handle_seconds": case((closed, self._handle_seconds()), else_=0),
            "rated": rated,
            "satisfaction_sum": case((rated, Event.satisfaction), else_=0),
        }

    def _overdue(self) -> ColumnElement[bool]:
        """Red by then: its red light came before the moment and no new deadline (a re-dispatch
        after a return, a resume after a pause) cleared it before the moment."""
        red, moved, before = aliased(EventLog), aliased(EventLog), aliased(EventLog)
        new_deadline = or_(
            moved.action == "resume",
            and_(
                moved.action == "dispatch",
                exists().where(before.event_id == Event.id, before.action == "dispatch",
                               before.seq < moved.seq),
            ),
        )  # fmt: skip
        still_red = exists().where(
            red.event_id == Event.id, red.action == "overdue", red.at <= self.cutoff,
            not_(exists().where(moved.event_id == Event.id, moved.seq > red.seq,
                                moved.at <= self.cutoff, new_deadline)),
        )  # fmt: skip
        return or_(
            Event.overdue_at <= self.cutoff,
            and_(self.changed, or_(Event.return_count > 0, Event.paused_seconds > 0), still_red),
        )

    def _handle_seconds(self) -> Any:
        """Filing to closing minus the paused time, whole seconds (as `facts.entries`)."""
        if self.dialect == "postgresql":
            span: Any = extract("epoch", Event.closed_at - Event.created_at)
        else:
            span = (func.julianday(Event.closed_at) - func.julianday(Event.created_at)) * 86400.0
        worked = span - func.coalesce(Event.paused_seconds, 0.0)
        return case((worked < 0, 0), else_=cast(func.round(worked), BigInteger))

    def owner(self) -> Any:
        """The unit that had the event then (0: none)."""
        last = (
            select(case((EventLog.action == "dispatch", EventLog.unit_id), else_=None))
            .where(EventLog.event_id == Event.id, EventLog.at <= self.cutoff,
                   EventLog.action.in_(("dispatch", "return")))
            .order_by(EventLog.seq.desc())
            .limit(1)
            .scalar_subquery()
        )  # fmt: skip
        return func.coalesce(
            case(
                (and_(self.changed, Event.return_count > 0), last),
                (Event.dispatched_at <= self.cutoff, Event.owner_unit_id),
                else_=None,
            ),
            0,
        )


def sums_as_of(
    db: Session,
    *,
    scope: Scope,
    start: date,
    end: date,
    cutoff: datetime,
    by: tuple[str, ...],
    counters: tuple[str, ...],
) -> Aggregate:
    """The cohort counters of the events filed start..end (and before `cutoff`), grouped by `by`,
    as they stood at `cutoff`: the sums `analytics.query.aggregate` gives from the rollups, had
    it been asked at that moment (kept for `KEEP`, see the module's docstring)."""
    engine = db.get_bind().engine
    key = (scope, start, end, cutoff, by, counters)
    with _kept_lock:
        kept = _kept.setdefault(engine, OrderedDict())
        hit = kept.get(key)
        if hit is not None and clock_time.monotonic() - hit[0] < KEEP.total_seconds():
            kept.move_to_end(key)
            return hit[1]
    result = _sums(db, scope=scope, start=start, end=end, cutoff=cutoff, by=by, counters=counters)
    with _kept_lock:
        kept[key] = (clock_time.monotonic(), result)
        kept.move_to_end(key)
        while len(kept) > KEPT:
            kept.popitem(last=False)
    return result


def _sums(
    db: Session,
    *,
    scope: Scope,
    start: date,
    end: date,
    cutoff: datetime,
    by: tuple[str, ...],
    counters: tuple[str, ...],
) -> Aggregate:
    moment = _Moment(cutoff, db.get_bind().dialect.name)
    values = moment.counters()
    unknown = [c for c in counters if c not in values]
    if unknown or any(name not in (*_FIXED, "owner_unit_id") for name in by):
        raise ValueError(f"not counted as of a moment: {unknown or by}")
    keys = [
        moment.owner() if name == "owner_unit_id" else getattr(Event, name)  # never null
        for name in by
    ]
    sums = [
        func.count()
        if name == "new"
        else cast(
            func.sum(
                values[name] if name in ("handle_seconds", "satisfaction_sum")
                else case((values[name], 1), else_=0)
            ),
            BigInteger,
        )
        for name in counters
    ]  # fmt: skip
    statement = select(*keys, *sums).where(
        Event.created_at >= _utc(start),
        Event.created_at < min(_utc(end + timedelta(days=1)), cutoff),
    )
    if scope.column:
        statement = statement.where(getattr(Event, scope.column) == scope.org_id)
    if keys:
        statement = statement.group_by(*keys)
    rows = [tuple(int(v or 0) if i >= len(keys) else v for i, v in enumerate(row))
            for row in db.execute(statement)]  # fmt: skip
    result = Aggregate(by, counters, [], start, end, sources=["events-as-of"])
    result.rows = sorted(row for row in rows if any(row[len(keys) :]))
    return result

"""What one event adds to the rollups: a pure function of the event's current state.

An event contributes two entries. The *cohort* entry sits on the local day it was filed and says
what has become of it so far (accepted, closed, closed on time, went overdue, returned twice …);
the *flow* entry sits on the local day it was closed and carries the closings of that day (how
many, how many on time, how long they took). Rollups are sums of these entries, so a change of
an event moves the rollups by `contributions(after) - contributions(before)` and a rebuild from
scratch sums the same function over every event: the two agree by construction.

Every counter is an integer (durations in whole seconds), so incremental sums and rebuilt sums
are equal exactly, not within a rounding error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.changes import EventState

# Counters of the cohort entry (on the filing day).
COHORT_COUNTERS = (
    "new",  # filed
    "accepted",  # got past the operator (accepted or self-handled)
    "dispatched",  # reached a unit at least once
    "handled",  # fed back or resolved on the spot (handled, self-handled or closed)
    "closed",  # closed (verified, or closed after self-handling)
    "closed_on_time",  # closed no later than its deadline (or without one)
    "overdue",  # went past its deadline (red light) and still carries that mark
    "open",  # still waiting for someone
    "open_overdue",  # still open and past its deadline
    "rejected",
    "voided",
    "merged",
    "self_handled",  # resolved on the spot by the reporting grid worker
    "returned",  # returns by units (sum of return_count)
    "reworked",  # failed verifications (sum of rework_count)
    "returned_events",  # events returned at least once
    "reworked_events",  # events reworked at least once
    "handle_seconds",  # filing → closing, minus paused time, of the closed events
    "rated",  # closed events with a satisfaction score
    "satisfaction_sum",
    "sat_1",
    "sat_2",
    "sat_3",
    "sat_4",
    "sat_5",
)
# Counters of the flow entry (on the closing day).
FLOW_COUNTERS = (
    "done",  # closed that day
    "done_on_time",
    "done_seconds",
    "done_h4",  # closed within 4 hours of filing
    "done_d1",  # within a day
    "done_d3",  # within 3 days
    "done_d7",  # within 7 days
    "done_more",  # later
)
COUNTERS = COHORT_COUNTERS + FLOW_COUNTERS
COUNTER_INDEX = {name: i for i, name in enumerate(COUNTERS)}
DURATION_BUCKETS = (
    ("done_h4", 4 * 3600),
    ("done_d1", 24 * 3600),
    ("done_d3", 3 * 86400),
    ("done_d7", 7 * 86400),
    ("done_more", None),
)

OPEN = frozenset(
    {"reported", "accepted", "dispatched", "signed", "handled", "self_handled", "suspended"}
)
# The event's own columns that rollups are keyed by (the hour of the week comes from the entry).
KEY_COLUMNS = (
    "town_id", "village_id", "grid_id", "category_code", "major_code", "platform", "level",
    "source", "reporter_id", "owner_unit_id", "district_id",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry: a local time and the counters it adds (by position in COUNTERS)."""

    at: datetime  # local time (Asia/Shanghai)
    values: tuple[tuple[int, int], ...]  # (counter index, value), zeros left out


def _local(at: datetime) -> datetime:
    if at.tzinfo is None:  # SQLite hands back naive UTC through raw connections
        at = at.replace(tzinfo=UTC)
    return at.astimezone(LOCAL_TZ)


def _seconds(state: EventState) -> int:
    assert state.closed_at is not None
    span = (state.closed_at - state.created_at).total_seconds() - (state.paused_seconds or 0.0)
    return max(0, round(span))


def _on_time(state: EventState) -> bool:
    return state.due_at is None or (state.closed_at is not None and state.closed_at <= state.due_at)


def entries(state: EventState) -> list[Entry]:
    """The cohort entry and, once closed, the flow entry of an event in this state."""
    status = state.status
    closed = status == "closed"
    is_open = status in OPEN
    cohort: dict[str, int] = {"new": 1}
    if state.accepted_at is not None:
        cohort["accepted"] = 1
    if state.dispatched_at is not None:
        cohort["dispatched"] = 1
    if state.handled_at is not None or status in ("handled", "self_handled", "closed"):
        cohort["handled"] = 1
    if state.overdue_at is not None:
        cohort["overdue"] = 1
    if is_open:
        cohort["open"] = 1
        if state.overdue_at is not None:
            cohort["open_overdue"] = 1
    if status in ("rejected", "voided", "merged", "self_handled"):
        cohort[status] = 1
    elif closed and state.dispatched_at is None and state.accepted_at is not None:
        # Closed without ever reaching a unit: resolved on the spot by the grid worker.
        cohort["self_handled"] = 1
    if state.return_count:
        cohort["returned"] = state.return_count
        cohort["returned_events"] = 1
    if state.rework_count:
        cohort["reworked"] = state.rework_count
        cohort["reworked_events"] = 1
    result = []
    if closed:
        seconds = _seconds(state)
        on_time = _on_time(state)
        cohort["closed"] = 1
        cohort["handle_seconds"] = seconds
        if on_time:
            cohort["closed_on_time"] = 1
        if state.satisfaction:
            cohort["rated"] = 1
            cohort["satisfaction_sum"] = state.satisfaction
            cohort[f"sat_{state.satisfaction}"] = 1
        flow = {"done": 1, "done_seconds": seconds}
        if on_time:
            flow["done_on_time"] = 1
        for bucket, limit in DURATION_BUCKETS:
            if limit is None or seconds <= limit:
                flow[bucket] = 1
                break
        assert state.closed_at is not None
        result.append(Entry(_local(state.closed_at), _indexed(flow)))
    result.insert(0, Entry(_local(state.created_at), _indexed(cohort)))
    return result


def _indexed(counters: dict[str, int]) -> tuple[tuple[int, int], ...]:
    return tuple((COUNTER_INDEX[name], value) for name, value in counters.items() if value)


def day_number(at: datetime) -> int:
    """A local day as yyyymmdd."""
    return at.year * 10000 + at.month * 100 + at.day


def month_number(at: datetime) -> int:
    """A local month as yyyymm."""
    return at.year * 100 + at.month


def hour_of_week(at: datetime) -> int:
    """0 = Monday 00:00-00:59 … 167 = Sunday 23:00-23:59 (local time)."""
    return at.weekday() * 24 + at.hour


def key_values(state: EventState) -> dict[str, Any]:
    """The event's own key columns, None stored as 0 (see `dimension`)."""
    values = {name: getattr(state, name) for name in KEY_COLUMNS}
    for name in ("owner_unit_id", "district_id"):
        if values[name] is None:
            values[name] = 0
    return values


def dimension(state: EventState, name: str, at: datetime) -> Any:
    """The value of one rollup dimension for an entry at local time `at` (None stored as 0)."""
    if name == "day":
        return day_number(at)
    if name == "month":
        return month_number(at)
    if name == "how":
        return hour_of_week(at)
    value = getattr(state, name)
    return 0 if value is None else value

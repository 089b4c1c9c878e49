"""Deadlines, yellow/red lights and reminder times as pure functions of (start, policy, calendar).

No I/O and no clock: callers pass `now`. The rules are described, with worked examples, in
docs/sla.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Literal, get_args

from fengqiao.clock import LOCAL_TZ
from fengqiao.sla.calendar import WorkCalendar

LimitUnit = Literal["hours", "working_hours", "working_days", "calendar_days"]
LIMIT_UNIT_ZH = {
    "hours": "小时",
    "working_hours": "工作小时",
    "working_days": "工作日",
    "calendar_days": "自然日",
}
Light = Literal["green", "yellow", "red"]
LIGHT_ZH = {"green": "绿灯", "yellow": "黄灯", "red": "红灯"}

# The light turns yellow once no more than this much wall-clock time remains, whatever the unit.
YELLOW_WHEN_REMAINING = timedelta(hours=24)
_WORKING_UNITS = ("working_hours", "working_days")


@dataclass(frozen=True)
class Policy:
    """A time limit and when to warn about it."""

    limit: float  # amount in `unit`
    unit: LimitUnit
    remind_before_hours: float | None = 24.0  # None: no reminder (level 1)
    yellow_ratio: float = 0.8

    def __post_init__(self) -> None:
        if self.unit not in get_args(LimitUnit):
            raise ValueError(f"unknown limit unit {self.unit!r}")
        if not (math.isfinite(self.limit) and self.limit >= 0):
            raise ValueError("a limit must be a finite amount, zero or more")
        if self.unit == "calendar_days" and self.limit != int(self.limit):
            raise ValueError("a limit in calendar days must be a whole number of days")
        if not 0 <= self.yellow_ratio <= 1:
            raise ValueError("yellow_ratio must be between 0 and 1")
        if self.remind_before_hours is not None and not (
            math.isfinite(self.remind_before_hours) and self.remind_before_hours >= 0
        ):
            raise ValueError("remind_before_hours must be a finite number of hours, zero or more")


@dataclass(frozen=True)
class Deadline:
    """When an event is due, when its light turns yellow, and when to remind its handlers (UTC)."""

    due_at: datetime
    yellow_at: datetime  # when the light turns yellow
    remind_at: datetime | None


def compute_deadline(*, start: datetime, policy: Policy, calendar: WorkCalendar) -> Deadline:
    """The deadline of an event whose clock starts at `start` under `policy`."""
    if start.tzinfo is None:
        raise ValueError("deadlines need a timezone-aware start")
    start = start.astimezone(UTC)
    if policy.unit in _WORKING_UNITS:
        limit = _working_limit_seconds(policy, calendar)
        due = calendar.add_working_seconds(start, limit)
        share = policy.yellow_ratio * limit
        # A zero share is reached at once, even from a non-working instant (never green).
        ratio_point = calendar.add_working_seconds(start, share) if share > 0 else start
    else:
        if policy.unit == "hours":
            due = start + timedelta(hours=policy.limit)
        else:
            last_day = start.astimezone(LOCAL_TZ).date() + timedelta(days=int(policy.limit))
            end_of_day = datetime.combine(last_day + timedelta(days=1), time(0), tzinfo=LOCAL_TZ)
            due = end_of_day.astimezone(UTC)
        ratio_point = start + (due - start) * policy.yellow_ratio
    return Deadline(
        due_at=due,
        yellow_at=max(start, min(ratio_point, due - YELLOW_WHEN_REMAINING)),
        remind_at=_remind_at(due, policy, earliest=start),
    )


def extend_for_pause(
    *,
    deadline: Deadline,
    paused_from: datetime,
    paused_to: datetime,
    policy: Policy,
    calendar: WorkCalendar,
) -> Deadline:
    """The deadline after a suspension from `paused_from` to `paused_to`, which does not count.

    Wall-clock units move by the pause's length, working units by the working time inside it;
    nothing ever moves earlier. The result keeps the rules of compute_deadline as if the clock
    had stopped during the pause (see docs/sla.md for why it needs no start time).
    """
    if paused_to <= paused_from:
        return deadline
    if policy.unit in _WORKING_UNITS:
        paused = calendar.working_seconds_between(paused_from, paused_to)
        if paused == 0:  # e.g. a weekend: adding 0 would still move a due time at a period end
            return deadline
        due = calendar.add_working_seconds(deadline.due_at, paused)
        # The ratio point is where only (1 - ratio) of the limit remains before the new due time.
        limit = _working_limit_seconds(policy, calendar)
        ratio_point = calendar.subtract_working_seconds(due, limit - policy.yellow_ratio * limit)
    else:
        pause = paused_to - paused_from
        due = (deadline.due_at + pause).astimezone(UTC)
        # yellow_at was the ratio point, due - 24 h or the start; only the first two move.
        ratio_point = deadline.yellow_at + pause
    yellow = max(deadline.yellow_at, min(ratio_point, due - YELLOW_WHEN_REMAINING))
    remind = deadline.remind_at
    if remind is not None and policy.remind_before_hours is not None:
        # The old reminder time stands in for the start it may have been clamped to.
        remind = _remind_at(due, policy, earliest=remind)
    return Deadline(due_at=due, yellow_at=yellow.astimezone(UTC), remind_at=remind)


def light(*, deadline: Deadline | None, now: datetime, suspended: bool = False) -> Light | None:
    """The event's light at `now`: None without a deadline, red from the due time on.

    A suspended event keeps the light it had when suspended: the caller passes the moment of
    suspension as `now`, so `suspended` does not change the computation.
    """
    if deadline is None:
        return None
    if now >= deadline.due_at:
        return "red"
    if now >= deadline.yellow_at:
        return "yellow"
    return "green"


def _working_limit_seconds(policy: Policy, calendar: WorkCalendar) -> float:
    """The policy's limit as seconds of working time (working units only)."""
    if policy.unit == "working_days":
        return policy.limit * calendar.hours.day_seconds
    return policy.limit * 3600


def _remind_at(due: datetime, policy: Policy, *, earliest: datetime) -> datetime | None:
    """`remind_before_hours` before `due`, but not before `earliest`; None without a reminder."""
    if policy.remind_before_hours is None:
        return None
    return max(earliest, due - timedelta(hours=policy.remind_before_hours)).astimezone(UTC)

"""The regular meetings' rules as data (三级分析研判制度): how often each level meets, on which
day and at what time, and how long after its time a meeting not held counts as missed.

The district's analysis meeting is monthly (the 5th, 09:00), each town's monthly (the 10th,
14:30), each village's quarterly (the 15th of the quarter's first month, 15:00). A day that is not
a working day moves to the next working day. Two days' grace, then a meeting without minutes is
missed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fengqiao.clock import LOCAL_TZ
from fengqiao.sla.calendar import WorkCalendar


@dataclass(frozen=True)
class Rule:
    level: str
    months: int  # 1 monthly, 3 quarterly
    day: int
    at: time
    title: str  # the meeting's name after the org's name


RULES: dict[str, Rule] = {
    "district": Rule("district", 1, 5, time(9, 0), "月度分析研判会商"),
    "town": Rule("town", 1, 10, time(14, 30), "月度分析研判会商"),
    "village": Rule("village", 3, 15, time(15, 0), "季度分析研判会商"),
}
MISSED_GRACE = timedelta(days=2)
# How far ahead the job creates the next occurrences.
AHEAD = timedelta(days=45)


def period_key(rule: Rule, year: int, month: int) -> str:
    return f"{year}-{month:02d}" if rule.months == 1 else f"{year}-Q{(month - 1) // 3 + 1}"


def period_starts(rule: Rule, first: date, last: date) -> list[tuple[int, int]]:
    """The (year, month) each period of `rule` starts in, for periods meeting in [first, last]."""
    out = []
    year, month = first.year, first.month
    while (year, month) <= (last.year, last.month):
        if (month - 1) % rule.months == 0:
            out.append((year, month))
        month += 1
        if month > 12:
            year, month = year + 1, 1
    return out


def meeting_time(rule: Rule, year: int, month: int, calendar: WorkCalendar) -> datetime:
    """The rule's day of that month at its time, moved to the next working day."""
    day = date(year, month, rule.day)
    while not calendar.is_working_day(day):
        day += timedelta(days=1)
    return datetime.combine(day, rule.at, tzinfo=LOCAL_TZ)


def looked_back(rule: Rule, year: int, month: int) -> tuple[date, date]:
    """The period a regular meeting reviews: the month (or quarter) before it."""
    end = date(year, month, 1) - timedelta(days=1)
    start_month = month - rule.months
    start_year = year
    while start_month < 1:
        start_month += 12
        start_year -= 1
    return date(start_year, start_month, 1), end

"""The period of an assessment: whether it has ended, its words, and the period it is compared
with (the same days of the month before; for a period not yet over, as things stood at the same
moment of that month). Pure functions of dates and the clock's `now`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from fengqiao.clock import LOCAL_TZ


def month_end(day: date) -> date:
    """The last day of `day`'s month."""
    return (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def shift_month(day: date, months: int) -> date:
    """The same day `months` months later (earlier when negative), cut at the month's end."""
    index = day.year * 12 + day.month - 1 + months
    first = date(index // 12, index % 12 + 1, 1)
    return first.replace(day=min(day.day, month_end(first).day))


def days_text(start: date, end: date, *, year: bool = False) -> str:
    """Days in words: 12月1日至5日, 11月20日至12月5日, 2026年12月29日至2027年1月12日, 12月5日."""
    with_year = year or start.year != end.year
    first = f"{start.year}年" if with_year else ""
    first += f"{start.month}月{start.day}日"
    if start == end:
        return first
    if start.year == end.year and start.month == end.month:
        return f"{first}至{end.day}日"
    last = f"{end.year}年" if start.year != end.year else ""
    return f"{first}至{last}{end.month}月{end.day}日"


def moment_text(at: datetime) -> str:
    """A moment in words: 11月5日15:00 (local time)."""
    local = at.astimezone(LOCAL_TZ)
    return f"{local.month}月{local.day}日{local:%H:%M}"


def previous_span(start: date, end: date) -> tuple[date, date]:
    """The same days of the month before; whole months are compared with as many whole months
    before them (November with all of October, not with October 1-30)."""
    if start.day == 1 and end == month_end(end):
        months = (end.year - start.year) * 12 + end.month - start.month + 1
        return shift_month(start, -months), start - timedelta(days=1)
    return shift_month(start, -1), shift_month(end, -1)


@dataclass(frozen=True)
class Period:
    """A period as asked, the days it has figures for, and what it is compared with."""

    start: date
    end: date  # as asked
    last: date  # the last day with figures: today while the period runs
    partial: bool  # today lies inside the period: it has not ended
    label: str  # "12月1日至5日，本月未结束"
    compare_start: date
    compare_end: date
    # For a period not yet over: the moment, a month before now, as of which the compared
    # period is read (its events as they stood then), so five days are judged against five days
    # of the same age. None: both are read as they stand now.
    compare_as_of: datetime | None
    compare_label: str  # "11月1日至5日（截至11月5日15:00）"


def period_of(start: date, end: date, now: datetime) -> Period:
    """The period start..end seen at `now`."""
    today = now.astimezone(LOCAL_TZ).date()
    partial = start <= today <= end
    last = today if partial else end
    year = start.year != today.year or last.year != today.year
    label = days_text(start, last, year=year)
    if partial:
        this_month = start == today.replace(day=1) and end <= month_end(today)
        label += "，本月未结束" if this_month else "，本期未结束"
    compare_start, compare_end = previous_span(start, last)
    as_of: datetime | None = None
    compare_label = days_text(
        compare_start, compare_end, year=year or compare_start.year != today.year
    )
    if partial:
        # The same hour a month before (to the hour: the compared side is read once an hour).
        hour = time(now.astimezone(LOCAL_TZ).hour)
        moment = datetime.combine(shift_month(today, -1), hour, tzinfo=LOCAL_TZ)
        ceiling = datetime.combine(compare_end + timedelta(days=1), time(), tzinfo=LOCAL_TZ)
        as_of = min(moment, ceiling)
        compare_label += f"（截至{moment_text(as_of)}）"
    return Period(
        start=start, end=end, last=last, partial=partial, label=label,
        compare_start=compare_start, compare_end=compare_end, compare_as_of=as_of,
        compare_label=compare_label,
    )  # fmt: skip

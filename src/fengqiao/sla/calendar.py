"""The Chinese official working calendar: which local days are working days, and working-time arithmetic.

Deadlines in working units are counted on this calendar (see docs/sla.md). The arithmetic runs on
integer microseconds over precomputed per-day tables, so a bulk loader can call it a million times.
"""

from __future__ import annotations

import threading
from bisect import bisect_left, bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

import chinese_calendar

from fengqiao.clock import LOCAL_TZ

_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()
# Tables grow by at least a year around the days asked for, so a rebuild is rare.
_GROW_DAYS = 366
# Past this many days without the working day sought, give up rather than grow forever.
_MAX_TABLE_DAYS = 300 * 366


def _local_offset_us() -> int:
    """The UTC offset of local time, in microseconds."""
    offset = datetime(2000, 1, 1, tzinfo=LOCAL_TZ).utcoffset()
    if offset is None:
        raise RuntimeError("the local time zone has no UTC offset")
    return offset // _MICROSECOND


# China has kept UTC+08:00 without daylight saving since 1991, so a local day is a fixed slice of
# the UTC timeline; a constant offset instead of a tz lookup per call is what makes the arithmetic
# fast. tests/sla/test_calendar.py checks the offset against the tz database.
_LOCAL_OFFSET_US = _local_offset_us()


def _time_us(moment: time) -> int:
    """Microseconds since midnight of a wall-clock time."""
    return (
        (moment.hour * 60 + moment.minute) * 60 + moment.second
    ) * 1_000_000 + moment.microsecond


@dataclass(frozen=True)
class WorkingHours:
    """The working periods of a working day, in local (Asia/Shanghai) wall-clock time."""

    periods: tuple[tuple[time, time], ...] = (
        (time(8, 30), time(12, 0)),
        (time(13, 30), time(17, 30)),
    )

    def __post_init__(self) -> None:
        if not self.periods:
            raise ValueError("working hours need at least one period")
        previous_end = -1
        for opens, closes in self.periods:
            if not _time_us(opens) < _time_us(closes):
                raise ValueError(f"a working period must open before it closes: {opens}-{closes}")
            if _time_us(opens) < previous_end:
                raise ValueError("working periods must be in order and must not overlap")
            previous_end = _time_us(closes)

    @property
    def day_seconds(self) -> float:
        """Length of one working day in seconds (7.5 h = 27,000 s by default)."""
        return sum(_time_us(closes) - _time_us(opens) for opens, closes in self.periods) / 1e6


@cache
def _library_knows(year: int) -> bool:
    """Whether chinese_calendar has the State Council's holiday arrangement for `year`."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


@dataclass(frozen=True)
class _Table:
    """Working-day counts for the local days [first_day, first_day + len(flags)), by day number.

    Day numbers count local days from 1970-01-01. `counts[i]` is the number of working days
    between the calendar's fixed anchor day and day `first_day + i` (negative before the anchor),
    so values stay valid when the table grows; `working_days[k - counts[0]]` is the day number
    of the working day whose count is k.
    """

    first_day: int
    flags: bytes
    counts: list[int]
    working_days: list[int]


class WorkCalendar:
    """Working days (official calendar plus overrides) and working-time arithmetic on them.

    The override table is copied at construction; build a new calendar when it changes.
    """

    def __init__(
        self, overrides: Mapping[date, bool] | None = None, hours: WorkingHours = WorkingHours()
    ) -> None:
        self.overrides: dict[date, bool] = dict(overrides or {})
        self.hours = hours
        self._override_years = {day.year for day in self.overrides}
        self._day_cache: dict[date, bool] = {}
        self._opens = [_time_us(opens) for opens, _ in hours.periods]
        bounds: list[int] = []
        for opens, closes in hours.periods:
            bounds += [_time_us(opens), _time_us(closes)]
        self._bounds = bounds
        worked = 0
        self._worked_before: list[int] = []  # working µs of the day before each period opens
        self._worked_through: list[int] = []  # ... and when each period closes
        for opens, closes in hours.periods:
            self._worked_before.append(worked)
            worked += _time_us(closes) - _time_us(opens)
            self._worked_through.append(worked)
        self._day_us = worked
        self._anchor: int | None = None
        self._table = _Table(0, b"", [0], [])
        self._grow_lock = threading.Lock()

    # -- which days are working days -------------------------------------------------------------

    def is_working_day(self, day: date) -> bool:
        """Whether people work on this local day: override, else the official calendar, else Mon-Fri."""
        cached = self._day_cache.get(day)
        if cached is None:
            cached = self._decide(day)
            self._day_cache[day] = cached
        return cached

    def _decide(self, day: date) -> bool:
        """The uncached answer for is_working_day."""
        override = self.overrides.get(day)
        if override is not None:
            return override
        if _library_knows(day.year):
            return bool(chinese_calendar.is_workday(day))
        # No official arrangement published (or known to this library version) yet.
        return day.weekday() < 5

    def knows(self, year: int) -> bool:
        """Whether `year` is covered by chinese_calendar or by at least one override."""
        return year in self._override_years or _library_knows(year)

    # -- working-time arithmetic -------------------------------------------------------------------

    def working_seconds_between(self, start: datetime, end: datetime) -> float:
        """Working time in seconds from `start` to `end` (0 if end <= start)."""
        start_us = _utc_us(start)
        end_us = _utc_us(end)
        if end_us <= start_us:
            return 0.0
        table = self._table_for(start_us, end_us)
        return (self._worked_until(table, end_us) - self._worked_until(table, start_us)) / 1e6

    def add_working_seconds(self, start: datetime, seconds: float) -> datetime:
        """The earliest instant by which `seconds` of working time have passed since `start`, in UTC.

        From a non-working instant counting starts at the next working period, and adding 0 moves
        there; otherwise the result is in working time or exactly at the end of a period.
        """
        amount = round(seconds * 1_000_000)
        if amount < 0:
            raise ValueError("cannot add a negative amount of working time")
        start_us = _utc_us(start)
        table = self._table_for(start_us, start_us)
        reached = self._worked_until(table, start_us) + amount
        if amount == 0:
            return self._instant(table, reached, at_period_end=False)
        return self._instant(table, reached, at_period_end=True)

    def subtract_working_seconds(self, end: datetime, seconds: float) -> datetime:
        """The earliest instant from which at most `seconds` of working time remain until `end`, in UTC."""
        amount = round(seconds * 1_000_000)
        if amount < 0:
            raise ValueError("cannot subtract a negative amount of working time")
        end_us = _utc_us(end)
        table = self._table_for(end_us, end_us)
        return self._instant(table, self._worked_until(table, end_us) - amount, at_period_end=True)

    def _worked_until(self, table: _Table, utc_us: int) -> int:
        """Working µs from the anchor day's midnight to `utc_us` (negative before the anchor)."""
        day, time_of_day = divmod(utc_us + _LOCAL_OFFSET_US, _DAY_US)
        index = day - table.first_day
        worked = table.counts[index] * self._day_us
        if table.flags[index]:
            position = bisect_right(self._bounds, time_of_day)
            period = position >> 1
            if position & 1:  # inside a period
                worked += self._worked_before[period] + time_of_day - self._opens[period]
            elif period:
                worked += self._worked_through[period - 1]
        return worked

    def _instant(self, table: _Table, worked: int, *, at_period_end: bool) -> datetime:
        """The instant at which `worked` µs of working time (from the anchor) are reached.

        When that falls on a boundary between two periods, `at_period_end` picks the earlier one
        (the close of a period: the earliest instant reaching the amount) over the next opening.
        """
        count, into_day = divmod(worked, self._day_us)
        if at_period_end:
            if into_day == 0:
                count -= 1
                into_day = self._day_us
            period = bisect_left(self._worked_through, into_day)
        else:
            period = bisect_right(self._worked_through, into_day)
        index = count - table.counts[0]
        if not 0 <= index < len(table.working_days):
            table = self._grow_to_count(count)
            index = count - table.counts[0]
        day = table.working_days[index]
        time_of_day = self._opens[period] + into_day - self._worked_before[period]
        return _EPOCH + (day * _DAY_US + time_of_day - _LOCAL_OFFSET_US) * _MICROSECOND

    # -- the per-day tables ------------------------------------------------------------------------

    def _table_for(self, first_us: int, last_us: int) -> _Table:
        """A table covering the local days of both instants (and one more on each side)."""
        table = self._table
        first = (first_us + _LOCAL_OFFSET_US) // _DAY_US - 1
        last = (last_us + _LOCAL_OFFSET_US) // _DAY_US + 1
        if first < table.first_day or last >= table.first_day + len(table.flags):
            table = self._grow(first - _GROW_DAYS, last + _GROW_DAYS)
        return table

    def _grow_to_count(self, count: int) -> _Table:
        """A table that contains the working day with this count (a year or more further out)."""
        table = self._table
        while not 0 <= count - table.counts[0] < len(table.working_days):
            if len(table.flags) > _MAX_TABLE_DAYS:
                raise OverflowError("no working day within reach on this calendar")
            end = table.first_day + len(table.flags)
            # Reach out in proportion to the working days still missing (about 5 a week), and at
            # least double, so a calendar with few working days needs few rebuilds.
            if count < table.counts[0]:
                missing = table.counts[0] - count
                reach = max(_GROW_DAYS, missing * 7 // 5 + 30, len(table.flags))
                table = self._grow(table.first_day - reach, end)
            else:
                missing = count - table.counts[-1]
                reach = max(_GROW_DAYS, missing * 7 // 5 + 30, len(table.flags))
                table = self._grow(table.first_day, end + reach)
        return table

    def _grow(self, first_day: int, end_day: int) -> _Table:
        """Rebuild the table to cover at least [first_day, end_day), keeping counts anchored."""
        with self._grow_lock:
            old = self._table
            if old.flags:
                first_day = min(first_day, old.first_day)
                end_day = max(end_day, old.first_day + len(old.flags))
            if self._anchor is None:
                self._anchor = first_day
            flags = bytes(
                self.is_working_day(date.fromordinal(_EPOCH_ORDINAL + day))
                for day in range(first_day, end_day)
            )
            counts = [0]
            for flag in flags:
                counts.append(counts[-1] + flag)
            shift = counts[self._anchor - first_day]
            counts = [value - shift for value in counts]
            working_days = [first_day + i for i, flag in enumerate(flags) if flag]
            table = _Table(first_day, flags, counts, working_days)
            self._table = table  # one assignment, so readers see either table whole
            return table


def _utc_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch of an aware datetime."""
    if moment.tzinfo is None:
        raise ValueError("working-time arithmetic needs timezone-aware datetimes")
    return (moment - _EPOCH) // _MICROSECOND

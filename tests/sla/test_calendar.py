"""The working calendar: official holidays and 调休, overrides, fallback, and working-time arithmetic."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fengqiao.clock import LOCAL_TZ
from fengqiao.sla.calendar import WorkCalendar, WorkingHours

CALENDAR = WorkCalendar()
MICROSECOND = timedelta(microseconds=1)
# Building a calendar's day table the first time takes a few tens of milliseconds.
slow_first_call = settings(deadline=None)


def local(text: str) -> datetime:
    """A local Asia/Shanghai time written as 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ)


def days(first: str, last: str) -> list[date]:
    """Every day from `first` to `last` inclusive."""
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def test_local_time_has_had_one_offset_since_1992() -> None:
    for year in range(1992, 2051):
        for month in (1, 7):
            assert datetime(year, month, 1, tzinfo=LOCAL_TZ).utcoffset() == timedelta(hours=8)


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 26), True),  # Friday
        (date(2025, 9, 27), False),  # Saturday
        (date(2025, 9, 28), True),  # Sunday, 调休 make-up working day
        *[(day, False) for day in days("2025-10-01", "2025-10-08")],
        (date(2025, 10, 9), True),
        (date(2025, 10, 10), True),
        (date(2025, 10, 11), True),  # Saturday, 调休 make-up working day
        (date(2025, 10, 12), False),  # Sunday
    ],
)
def test_national_day_2025(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2026, 2, 13), True),  # Friday
        (date(2026, 2, 14), True),  # Saturday, 调休 make-up working day
        *[(day, False) for day in days("2026-02-15", "2026-02-23")],
        (date(2026, 2, 24), True),
        (date(2026, 2, 27), True),
        (date(2026, 2, 28), True),  # Saturday, 调休 make-up working day
        (date(2026, 3, 1), False),  # Sunday
    ],
)
def test_spring_festival_2026_as_chinese_calendar_1_11_has_it(day: date, working: bool) -> None:
    assert CALENDAR.is_working_day(day) is working


def test_overrides_beat_the_official_calendar() -> None:
    calendar = WorkCalendar({date(2025, 6, 7): True, date(2025, 6, 10): False})
    assert calendar.is_working_day(date(2025, 6, 7))  # a Saturday
    assert not calendar.is_working_day(date(2025, 6, 10))  # a Tuesday
    assert calendar.is_working_day(date(2025, 6, 9))
    friday = local("2025-06-06 10:00")
    # Friday 6 h and Saturday 7.5 h, where the official calendar needs Monday and Tuesday morning.
    assert calendar.add_working_seconds(friday, 13.5 * 3600) == local("2025-06-07 17:30")
    assert CALENDAR.add_working_seconds(friday, 13.5 * 3600) == local("2025-06-09 17:30")
    # Friday 6 h, Saturday 7.5 h, Monday 7.5 h, Tuesday nothing, Wednesday 1.5 h.
    tuesday_noon = local("2025-06-10 12:00")
    assert calendar.working_seconds_between(friday, tuesday_noon) == 21 * 3600
    assert CALENDAR.working_seconds_between(friday, tuesday_noon) == 17 * 3600
    assert calendar.add_working_seconds(friday, 3 * 27000) == local("2025-06-11 10:00")


def test_an_unknown_year_falls_back_to_monday_to_friday() -> None:
    assert CALENDAR.knows(2025) and CALENDAR.knows(2026)
    assert not CALENDAR.knows(2031)
    new_year = date(2031, 1, 1)  # a Wednesday: no holiday without data
    assert CALENDAR.is_working_day(new_year)
    assert [CALENDAR.is_working_day(day) for day in days("2031-01-03", "2031-01-06")] == [
        True,  # Friday
        False,
        False,
        True,  # Monday
    ]


def test_an_override_makes_its_year_known() -> None:
    calendar = WorkCalendar({date(2031, 1, 1): False})
    assert calendar.knows(2031)
    assert not calendar.knows(2032)
    assert not calendar.is_working_day(date(2031, 1, 1))
    assert calendar.is_working_day(date(2031, 1, 2))


def test_default_working_hours_make_a_day_of_seven_and_a_half_hours() -> None:
    assert WorkingHours().day_seconds == 7.5 * 3600
    monday = date(2025, 6, 9)
    start = datetime.combine(monday, time(0), tzinfo=LOCAL_TZ)
    assert CALENDAR.working_seconds_between(start, start + timedelta(days=1)) == 27000


@pytest.mark.parametrize(
    "periods",
    [
        (),
        ((time(12), time(8)),),
        ((time(8), time(12)), (time(11), time(14))),
        ((time(13), time(17)), (time(8), time(12))),
    ],
)
def test_working_hours_must_be_ordered_periods(periods: tuple[tuple[time, time], ...]) -> None:
    with pytest.raises(ValueError):
        WorkingHours(periods)


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        ("2025-06-06 16:00", "2025-06-09 11:00", 4.0),  # Friday to Monday
        ("2025-06-09 11:00", "2025-06-09 14:00", 1.5),  # over lunch
        ("2025-06-09 12:00", "2025-06-09 13:30", 0.0),  # lunch only
        ("2025-06-07 09:00", "2025-06-08 18:00", 0.0),  # a weekend
        ("2025-09-30 17:00", "2025-10-09 09:00", 1.0),  # over National Day
        ("2025-06-09 14:00", "2025-06-09 10:00", 0.0),  # backwards
    ],
)
def test_working_seconds_between(start: str, end: str, hours: float) -> None:
    assert CALENDAR.working_seconds_between(local(start), local(end)) == hours * 3600


@pytest.mark.parametrize(
    ("start", "hours", "result"),
    [
        ("2025-06-09 08:30", 3.5, "2025-06-09 12:00"),  # ends at a period's close, not 13:30
        ("2025-06-09 08:30", 7.5, "2025-06-09 17:30"),  # not Tuesday 08:30
        ("2025-06-09 08:30", 3.75, "2025-06-09 13:45"),
        ("2025-06-09 12:00", 0.0, "2025-06-09 13:30"),  # adding 0 moves to the next period
        ("2025-06-09 10:00", 0.0, "2025-06-09 10:00"),
        ("2025-06-09 18:00", 0.0, "2025-06-10 08:30"),
        ("2025-06-07 15:00", 1.0, "2025-06-09 09:30"),  # from Saturday: Monday's first period
        ("2025-06-06 16:00", 4.0, "2025-06-09 11:00"),
        ("2025-09-30 17:00", 1.0, "2025-10-09 09:00"),  # over National Day
        ("2026-02-13 17:00", 1.0, "2026-02-14 09:00"),  # a make-up Saturday
        ("2026-02-14 17:00", 1.0, "2026-02-24 09:00"),  # then the Spring Festival
    ],
)
def test_add_working_seconds(start: str, hours: float, result: str) -> None:
    moved = CALENDAR.add_working_seconds(local(start), hours * 3600)
    assert moved == local(result)
    assert moved.tzinfo is UTC


def test_subtract_working_seconds_finds_the_earliest_instant() -> None:
    # 4.5 h before Wednesday 14:30 is Wednesday 08:30 or, earlier, Tuesday 17:30.
    end = local("2025-06-11 14:30")
    assert CALENDAR.subtract_working_seconds(end, 4.5 * 3600) == local("2025-06-10 17:30")
    assert CALENDAR.subtract_working_seconds(end, 0) == end


def test_custom_working_hours() -> None:
    calendar = WorkCalendar(hours=WorkingHours(((time(9), time(17)),)))
    assert calendar.hours.day_seconds == 8 * 3600
    friday = local("2025-06-06 15:00")
    assert calendar.add_working_seconds(friday, 3 * 3600) == local("2025-06-09 10:00")


def test_naive_datetimes_and_negative_amounts_are_refused() -> None:
    with pytest.raises(ValueError):
        CALENDAR.working_seconds_between(datetime(2025, 6, 9, 10), local("2025-06-10 10:00"))
    with pytest.raises(ValueError):
        CALENDAR.add_working_seconds(local("2025-06-09 10:00"), -1)
    with pytest.raises(ValueError):
        CALENDAR.subtract_working_seconds(local("2025-06-09 10:00"), -1)


def test_spans_of_decades_in_both_directions() -> None:
    calendar = WorkCalendar()
    start = local("2025-06-09 08:30")
    far = calendar.add_working_seconds(start, 27000 * 10_000)  # about 40 years ahead
    assert far.year > 2060
    assert calendar.working_seconds_between(start, far) == 27000 * 10_000
    back = calendar.subtract_working_seconds(start, 27000 * 8_000)
    assert back.year < 1995
    assert calendar.working_seconds_between(back, start) == 27000 * 8_000


class NoWorkCalendar(WorkCalendar):
    """A calendar on which nobody ever works."""

    def is_working_day(self, day: date) -> bool:
        return False


def test_a_calendar_without_working_days_gives_up_instead_of_looping() -> None:
    calendar = NoWorkCalendar()
    start = local("2025-06-09 10:00")
    assert calendar.working_seconds_between(start, start + timedelta(days=30)) == 0
    with pytest.raises(OverflowError):
        calendar.add_working_seconds(start, 1)


# -- properties ------------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, LOCAL_TZ, timezone(timedelta(hours=-5))])
MOMENTS = st.datetimes(
    min_value=datetime(2024, 1, 1), max_value=datetime(2027, 12, 31), timezones=ZONES
)
AMOUNTS = st.floats(min_value=0, max_value=15 * 27000, allow_nan=False)


def is_working_instant(calendar: WorkCalendar, moment: datetime) -> bool:
    """Whether `moment` falls inside a working period (opening included, closing excluded)."""
    there = moment.astimezone(LOCAL_TZ)
    return calendar.is_working_day(there.date()) and any(
        opens <= there.time() < closes for opens, closes in calendar.hours.periods
    )


def is_period_close(calendar: WorkCalendar, moment: datetime) -> bool:
    """Whether `moment` is exactly the close of a working period on a working day."""
    there = moment.astimezone(LOCAL_TZ)
    return calendar.is_working_day(there.date()) and any(
        there.time() == closes for _, closes in calendar.hours.periods
    )


def brute_force_seconds(calendar: WorkCalendar, start: datetime, end: datetime) -> float:
    """Working seconds between two instants, period by period, with no shortcuts."""
    total = timedelta()
    day = start.astimezone(LOCAL_TZ).date()
    while day <= end.astimezone(LOCAL_TZ).date():
        if calendar.is_working_day(day):
            for opens, closes in calendar.hours.periods:
                low = max(start, datetime.combine(day, opens, tzinfo=LOCAL_TZ))
                high = min(end, datetime.combine(day, closes, tzinfo=LOCAL_TZ))
                if high > low:
                    total += high - low
        day += timedelta(days=1)
    return total / timedelta(seconds=1)


@slow_first_call
@given(start=MOMENTS, seconds=AMOUNTS)
def test_adding_then_measuring_gives_the_amount_back(start: datetime, seconds: float) -> None:
    end = CALENDAR.add_working_seconds(start, seconds)
    assert end >= start
    assert abs(CALENDAR.working_seconds_between(start, end) - seconds) <= 1e-6


@slow_first_call
@given(start=MOMENTS, seconds=AMOUNTS.filter(lambda s: s >= 1e-6))
def test_adding_lands_in_working_time_or_at_a_close_and_is_the_earliest(
    start: datetime, seconds: float
) -> None:
    end = CALENDAR.add_working_seconds(start, seconds)
    assert is_working_instant(CALENDAR, end) or is_period_close(CALENDAR, end)
    assert CALENDAR.working_seconds_between(start, end - MICROSECOND) < seconds


@slow_first_call
@given(start=MOMENTS)
def test_adding_nothing_lands_in_working_time(start: datetime) -> None:
    moved = CALENDAR.add_working_seconds(start, 0)
    assert is_working_instant(CALENDAR, moved)
    assert CALENDAR.working_seconds_between(start, moved) == 0


@slow_first_call
@given(start=MOMENTS, first=AMOUNTS, second=AMOUNTS)
def test_adding_is_monotonic(start: datetime, first: float, second: float) -> None:
    low, high = sorted((first, second))
    assert CALENDAR.add_working_seconds(start, low) <= CALENDAR.add_working_seconds(start, high)


@slow_first_call
@given(moments=st.lists(MOMENTS, min_size=3, max_size=3))
def test_measuring_adds_up_and_matches_a_brute_force_count(moments: list[datetime]) -> None:
    first, middle, last = sorted(moments)
    whole = CALENDAR.working_seconds_between(first, last)
    parts = CALENDAR.working_seconds_between(first, middle) + CALENDAR.working_seconds_between(
        middle, last
    )
    assert abs(whole - parts) <= 1e-6
    assert 0 <= whole <= (last - first).total_seconds()
    assert abs(whole - brute_force_seconds(CALENDAR, first, last)) <= 1e-6


@slow_first_call
@given(end=MOMENTS, seconds=AMOUNTS)
def test_subtracting_leaves_the_amount_and_is_the_earliest(end: datetime, seconds: float) -> None:
    begin = CALENDAR.subtract_working_seconds(end, seconds)
    assert begin <= end
    assert CALENDAR.working_seconds_between(begin, end) <= seconds + 1e-6
    assert CALENDAR.working_seconds_between(begin - MICROSECOND, end) > seconds - 1e-6

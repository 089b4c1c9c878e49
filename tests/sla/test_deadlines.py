"""Deadlines, lights, reminders and pauses: the worked examples of docs/sla.md and properties."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from fengqiao.clock import LOCAL_TZ
from fengqiao.sla.calendar import WorkCalendar
from fengqiao.sla.deadlines import (
    Deadline,
    LimitUnit,
    Policy,
    compute_deadline,
    extend_for_pause,
    light,
)

CALENDAR = WorkCalendar()
DOC = Path(__file__).resolve().parents[2] / "docs" / "sla.md"
DAY = timedelta(hours=24)
MICROSECOND = timedelta(microseconds=1)


def local(text: str) -> datetime:
    """A local Asia/Shanghai time written as 'YYYY-MM-DD HH:MM'."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=LOCAL_TZ)


# -- the worked examples in docs/sla.md ------------------------------------------------------------


def doc_table(header: str) -> list[dict[str, str]]:
    """The rows of the table in docs/sla.md whose header row starts with `header`."""
    lines = DOC.read_text(encoding="utf-8").splitlines()
    first = next(i for i, line in enumerate(lines) if line.startswith(header))
    names = [cell.strip() for cell in lines[first].strip("|").split("|")]
    rows = []
    for line in lines[first + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(
            dict(zip(names, (cell.strip() for cell in line.strip("|").split("|")), strict=True))
        )
    return rows


def doc_time(cell: str) -> datetime | None:
    """A table cell such as '2025-06-06 10:00 (Fri)' as a time, or None for '—'."""
    if cell == "—":
        return None
    found = re.match(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", cell)
    assert found, cell
    return local(found.group())


def doc_overrides(cell: str) -> dict[date, bool]:
    """'2025-06-07 working; 2025-06-10 rest' as an override table."""
    if cell == "—":
        return {}
    pairs = (item.split() for item in cell.split(";"))
    return {date.fromisoformat(day): kind == "working" for day, kind in pairs}


@dataclass(frozen=True)
class Example:
    """One row of the worked-examples table."""

    start: datetime
    policy: Policy
    calendar: WorkCalendar
    expected: Deadline


def doc_examples() -> dict[str, Example]:
    """The worked-examples table, by id."""
    examples = {}
    for row in doc_table("| id | unit | limit"):
        start = doc_time(row["start"])
        due, yellow = doc_time(row["due_at"]), doc_time(row["yellow_at"])
        assert start and due and yellow
        examples[row["id"]] = Example(
            start=start,
            policy=Policy(
                limit=float(row["limit"]),
                unit=cast(LimitUnit, row["unit"]),
                remind_before_hours=None if row["remind"] == "—" else float(row["remind"]),
            ),
            calendar=WorkCalendar(doc_overrides(row["overrides"])),
            expected=Deadline(due_at=due, yellow_at=yellow, remind_at=doc_time(row["remind_at"])),
        )
    return examples


EXAMPLES = doc_examples()


@pytest.mark.parametrize("example_id", sorted(EXAMPLES))
def test_worked_example(example_id: str) -> None:
    example = EXAMPLES[example_id]
    deadline = compute_deadline(
        start=example.start, policy=example.policy, calendar=example.calendar
    )
    assert deadline == example.expected
    assert deadline.due_at.tzinfo is UTC and deadline.yellow_at.tzinfo is UTC


@pytest.mark.parametrize(
    "row", doc_table("| id | now | light |"), ids=lambda row: f"{row['id']}@{row['now']}"
)
def test_worked_light(row: dict[str, str]) -> None:
    example = EXAMPLES[row["id"]]
    deadline = compute_deadline(
        start=example.start, policy=example.policy, calendar=example.calendar
    )
    assert light(deadline=deadline, now=local(row["now"])) == row["light"]


@pytest.mark.parametrize(
    "row", doc_table("| id | paused_from"), ids=lambda row: f"{row['id']}@{row['paused_from']}"
)
def test_worked_pause(row: dict[str, str]) -> None:
    example = EXAMPLES[row["id"]]
    deadline = compute_deadline(
        start=example.start, policy=example.policy, calendar=example.calendar
    )
    paused_from, paused_to = doc_time(row["paused_from"]), doc_time(row["paused_to"])
    assert paused_from and paused_to
    moved = extend_for_pause(
        deadline=deadline,
        paused_from=paused_from,
        paused_to=paused_to,
        policy=example.policy,
        calendar=example.calendar,
    )
    assert (moved.due_at, moved.yellow_at, moved.remind_at) == (
        doc_time(row["due_at"]),
        doc_time(row["yellow_at"]),
        doc_time(row["remind_at"]),
    )


# -- single rules ----------------------------------------------------------------------------------


def test_three_working_days_from_friday_morning_end_on_wednesday_morning() -> None:
    deadline = compute_deadline(
        start=local("2025-06-06 10:00"),
        policy=Policy(limit=3, unit="working_days"),
        calendar=CALENDAR,
    )
    assert deadline.due_at == local("2025-06-11 10:00")


def test_no_reminder_without_an_offset() -> None:
    deadline = compute_deadline(
        start=local("2025-06-09 10:00"),
        policy=Policy(limit=3, unit="working_days", remind_before_hours=None),
        calendar=CALENDAR,
    )
    assert deadline.remind_at is None


def test_a_zero_working_limit_from_the_weekend_is_due_when_work_resumes() -> None:
    start = local("2025-06-07 10:00")
    deadline = compute_deadline(
        start=start, policy=Policy(limit=0, unit="working_hours"), calendar=CALENDAR
    )
    assert deadline.due_at == local("2025-06-09 08:30")
    assert deadline.yellow_at == start


def test_no_deadline_no_light() -> None:
    assert light(deadline=None, now=local("2025-06-09 10:00")) is None


def test_a_suspended_event_is_lit_as_at_its_suspension() -> None:
    deadline = EXAMPLES["A"].expected
    suspended_at = local("2025-06-09 10:00")
    assert light(deadline=deadline, now=suspended_at, suspended=True) == "green"


def test_a_naive_start_is_refused() -> None:
    with pytest.raises(ValueError):
        compute_deadline(
            start=datetime(2025, 6, 9, 10), policy=Policy(limit=2, unit="hours"), calendar=CALENDAR
        )


@pytest.mark.parametrize(
    "arguments",
    [
        {"limit": -1, "unit": "hours"},
        {"limit": float("nan"), "unit": "hours"},
        {"limit": 1.5, "unit": "calendar_days"},
        {"limit": 1, "unit": "weeks"},
        {"limit": 1, "unit": "hours", "yellow_ratio": 1.2},
        {"limit": 1, "unit": "hours", "remind_before_hours": -2},
    ],
)
def test_impossible_policies_are_refused(arguments: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Policy(**arguments)  # type: ignore[arg-type]


def test_an_empty_or_backward_pause_changes_nothing() -> None:
    example = EXAMPLES["A"]
    at = local("2025-06-09 10:00")
    for paused_to in (at, at - timedelta(hours=1)):
        moved = extend_for_pause(
            deadline=example.expected,
            paused_from=at,
            paused_to=paused_to,
            policy=example.policy,
            calendar=CALENDAR,
        )
        assert moved == example.expected


def test_a_weekend_pause_leaves_a_due_time_at_a_period_close_alone() -> None:
    # Adding no working time would move 17:30 to the next opening; a weekend pause must not.
    example = EXAMPLES["E"]
    moved = extend_for_pause(
        deadline=example.expected,
        paused_from=local("2025-06-14 00:00"),
        paused_to=local("2025-06-16 08:30"),
        policy=example.policy,
        calendar=CALENDAR,
    )
    assert moved == example.expected


# -- properties ------------------------------------------------------------------------------------

MOMENTS = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2027, 6, 30), timezones=st.just(UTC)
)


@st.composite
def policies(draw: st.DrawFn) -> Policy:
    """Policies of every unit; amounts are whole seconds and ratios twentieths, so the
    microsecond rounding of the ratio point and of what remains after it agree."""
    unit = draw(st.sampled_from(["hours", "working_hours", "working_days", "calendar_days"]))
    if unit == "calendar_days":
        limit = float(draw(st.integers(0, 15)))
    elif unit == "working_days":
        limit = draw(st.integers(1, 30)) / 2
    else:
        limit = draw(st.integers(1, 100 * 60)) / 60
    return Policy(
        limit=limit,
        unit=cast(LimitUnit, unit),
        remind_before_hours=draw(st.none() | st.integers(0, 96).map(lambda n: n / 2)),
        yellow_ratio=draw(st.integers(0, 20)) / 20,
    )


MINUTES = st.integers(0, 20 * 24 * 60).map(lambda n: timedelta(minutes=n))
SECONDS = st.integers(0, 40 * 24 * 3600).map(lambda n: timedelta(seconds=n))
PAUSES = st.lists(
    st.tuples(MINUTES, st.integers(1, 10 * 24 * 60).map(lambda n: timedelta(minutes=n))),
    min_size=1,
    max_size=3,
)


def measure(policy: Policy, start: datetime, end: datetime) -> timedelta:
    """Time from `start` to `end` in the policy's own measure (working or wall time)."""
    if policy.unit in ("working_hours", "working_days"):
        return CALENDAR.working_seconds_between(start, end) * timedelta(seconds=1)
    return max(end - start, timedelta())


def reference_light(
    *, policy: Policy, start: datetime, due: datetime, now: datetime, paused: timedelta
) -> str:
    """The light by the rules of docs/sla.md, with `paused` (already in the policy's measure)
    left out of the elapsed time; `due` is where the limit ends once the pause is left out."""
    limit = measure(
        policy, start, compute_deadline(start=start, policy=policy, calendar=CALENDAR).due_at
    )
    elapsed = measure(policy, start, now) - paused
    if now >= due:
        return "red"
    if elapsed >= limit * policy.yellow_ratio or due - now <= DAY:
        return "yellow"
    return "green"


@settings(deadline=None)
@given(policy=policies(), start=MOMENTS)
def test_deadlines_keep_their_order(policy: Policy, start: datetime) -> None:
    deadline = compute_deadline(start=start, policy=policy, calendar=CALENDAR)
    assert start <= deadline.yellow_at <= max(start, deadline.due_at - DAY)
    assert deadline.yellow_at <= deadline.due_at
    if policy.remind_before_hours is None:
        assert deadline.remind_at is None
    else:
        assert deadline.remind_at is not None
        assert start <= deadline.remind_at <= deadline.due_at
    assert light(deadline=deadline, now=start) == (
        "red" if deadline.due_at == start else "green" if deadline.yellow_at > start else "yellow"
    )
    assert light(deadline=deadline, now=deadline.due_at) == "red"
    if deadline.due_at > start:
        assert light(deadline=deadline, now=deadline.due_at - MICROSECOND) == "yellow"


@settings(deadline=None)
@given(policy=policies(), start=MOMENTS, pauses=PAUSES, after=SECONDS)
def test_pauses_leave_the_suspended_time_out(
    policy: Policy, start: datetime, pauses: list[tuple[timedelta, timedelta]], after: timedelta
) -> None:
    deadline = compute_deadline(start=start, policy=policy, calendar=CALENDAR)
    paused = timedelta()
    resumed = start
    for gap, length in pauses:
        paused_from = resumed + gap
        resumed = paused_from + length
        moved = extend_for_pause(
            deadline=deadline,
            paused_from=paused_from,
            paused_to=resumed,
            policy=policy,
            calendar=CALENDAR,
        )
        # Nothing moves earlier.
        assert moved.due_at >= deadline.due_at and moved.yellow_at >= deadline.yellow_at
        if deadline.remind_at is not None:
            assert moved.remind_at is not None and moved.remind_at >= deadline.remind_at
        deadline = moved
        paused += measure(policy, paused_from, resumed)

    if policy.unit in ("working_hours", "working_days"):
        first_due = compute_deadline(start=start, policy=policy, calendar=CALENDAR).due_at
        due = (
            CALENDAR.add_working_seconds(first_due, paused.total_seconds()) if paused else first_due
        )
    else:
        due = compute_deadline(start=start, policy=policy, calendar=CALENDAR).due_at + paused
    assert deadline.due_at == due
    if policy.remind_before_hours is not None:
        offset = timedelta(hours=policy.remind_before_hours)
        assert deadline.remind_at == max(start, due - offset)
    now = resumed + after
    assert light(deadline=deadline, now=now) == reference_light(
        policy=policy, start=start, due=due, now=now, paused=paused
    )


@settings(deadline=None)
@given(
    policy=policies().filter(lambda p: p.unit in ("working_hours", "working_days")),
    start=MOMENTS,
    weekend=st.integers(0, 80),
    into=st.integers(0, 48 * 60 - 1),
    length=st.integers(1, 48 * 60),
)
def test_a_pause_over_an_ordinary_weekend_adds_no_working_time(
    policy: Policy, start: datetime, weekend: int, into: int, length: int
) -> None:
    saturday = datetime(2025, 1, 4, tzinfo=LOCAL_TZ) + timedelta(weeks=weekend)
    # Skip the weekends with a 调休 make-up working day.
    assume(not CALENDAR.is_working_day(saturday.date()))
    assume(not CALENDAR.is_working_day(saturday.date() + timedelta(days=1)))
    paused_from = saturday + timedelta(minutes=into)
    paused_to = min(paused_from + timedelta(minutes=length), saturday + 2 * DAY)
    deadline = compute_deadline(start=start, policy=policy, calendar=CALENDAR)
    moved = extend_for_pause(
        deadline=deadline,
        paused_from=paused_from,
        paused_to=paused_to,
        policy=policy,
        calendar=CALENDAR,
    )
    assert moved == deadline

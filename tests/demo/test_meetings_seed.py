"""The demo's year of analysis meetings: the district's and the town's monthly meetings and
some villages' quarterly ones up to the seed's day, held with minutes and decisions as tracked
tasks (done on time, done late, still open: red, yellow and green), owned by units of their
theme, two towns' and one village's meetings missed, the next ones scheduled."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ, Clock
from fengqiao.demo.meetings import OWNER_TYPES
from fengqiao.meetings.models import Meeting
from fengqiao.meetings.service import decisions_on_time, meetings_held
from fengqiao.org.models import Unit
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import task_light


def test_the_demo_has_a_year_of_meetings_and_their_decisions(db: Session) -> None:
    meetings = list(db.scalars(select(Meeting)))
    by_level = Counter(m.level for m in meetings if m.status == "held")
    assert by_level["district"] >= 10 and by_level["town"] >= 9 and by_level["village"] >= 3
    statuses = Counter(m.status for m in meetings)
    assert statuses["missed"] >= 2 and statuses["scheduled"] >= 1
    assert all(m.minutes for m in meetings if m.status == "held")
    tasks = list(db.scalars(select(TrackedTask).where(TrackedTask.source_type == "meeting")))
    done = [t for t in tasks if t.status == "done"]
    assert done and any(t.done_at and t.done_at > t.due_at for t in done)  # some done late
    assert any(t.done_at and t.done_at <= t.due_at for t in done)
    assert any(t.status == "open" for t in tasks)
    held_meetings = {m.id for m in meetings if m.status == "held"}
    assert {t.source_id for t in tasks} <= held_meetings
    town = next(m.org_id for m in meetings if m.level == "town")
    years = {m.scheduled_at.year for m in meetings if m.level == "town"}
    assert any(town in meetings_held(db=db, year=y) for y in years)
    assert any(0 < decisions_on_time(db=db, year=y).get(town, 0) <= 1 for y in years)


def test_only_a_few_meetings_are_missed_and_those_ahead_count_for_neither(db: Session) -> None:
    """Two towns' meetings and one village's are missed (not every town's): most towns' 例会召开率
    is 100 %, and a meeting still ahead is not counted as due."""
    meetings = list(db.scalars(select(Meeting)))
    towns = {m.org_id for m in meetings if m.level == "town"}
    missed = Counter(m.level for m in meetings if m.status == "missed")
    assert missed == {"town": min(2, len(towns)), "village": 1}
    assert len({m.org_id for m in meetings if m.status == "missed"}) == sum(missed.values())
    year = Clock().now().astimezone(LOCAL_TZ).year
    figures = meetings_held(db=db, year=year)
    assert set(figures) == towns
    full = [town for town, (held, due) in figures.items() if held == due]
    assert len(full) >= len(towns) - 2
    for town, (held, due) in figures.items():
        came = [m for m in meetings if m.org_id == town and m.scheduled_at.year == year
                and m.status in ("held", "missed")]  # fmt: skip
        assert due == len(came) and held == sum(m.status == "held" for m in came)


def test_the_demo_decisions_have_owners_of_their_theme(db: Session) -> None:
    tasks = list(db.scalars(select(TrackedTask).where(TrackedTask.kind == "decision")))
    assert tasks
    types = dict(db.execute(select(Unit.id, Unit.unit_type)).all())
    for task in tasks:
        assert task.owner_unit_id is not None, task.title
        fits = (*OWNER_TYPES[task.title], "village_committee")
        assert types[task.owner_unit_id] in fits, (task.title, types[task.owner_unit_id])
    market = [t.owner_unit_id for t in tasks if t.title == "整治农贸市场周边占道经营"]
    assert all(types.get(unit or 0) != "fire_rescue_station" for unit in market)


def test_the_demo_decisions_still_open_are_of_every_light(db: Session) -> None:
    """Not every open decision is overdue: the last month's have deadlines still ahead."""
    now = Clock().now()
    tasks = db.scalars(select(TrackedTask).where(
        TrackedTask.source_type == "meeting", TrackedTask.status == "open"))  # fmt: skip
    lights = Counter(task_light(t, now) for t in tasks)
    assert lights["green"] > 0 and lights["yellow"] > 0 and lights["red"] > 0, lights

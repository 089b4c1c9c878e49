"""The demo's year of analysis meetings: the district's and the town's monthly meetings and
some villages' quarterly ones up to the seed's day, held with minutes and decisions as tracked
tasks (done on time, done late, still open), a couple missed, the next ones scheduled."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.meetings.models import Meeting
from fengqiao.meetings.service import decisions_on_time, meetings_held
from fengqiao.tasks.models import TrackedTask


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

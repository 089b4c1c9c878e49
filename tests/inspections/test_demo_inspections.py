"""The demo's supervision (督查整改): the standard in force, five groups covering every town once,
a round of each of the twelve months before the seed's day, rectification items mostly done on
time with a photo, some done late or still open, and submitted self-assessments."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.inspections.models import (
    InspectionGroup,
    InspectionGroupTown,
    InspectionRound,
    InspectionRoundItem,
    SelfAssessment,
)
from fengqiao.org.models import OrgUnit
from fengqiao.standards.service import current
from fengqiao.tasks.models import TrackedTask, TrackedTaskPhoto


def test_the_demo_holds_a_year_of_rounds_and_their_rectifications(db: Session) -> None:
    assert current(db) is not None
    assert db.scalar(select(func.count()).select_from(InspectionGroup)) == 5
    towns = db.scalar(select(func.count()).select_from(OrgUnit).where(OrgUnit.kind == "town"))
    assert db.scalar(select(func.count()).select_from(InspectionGroupTown)) == towns
    months = db.execute(select(InspectionRound.year, InspectionRound.month)).all()
    assert len(months) == 12 * (towns or 0) and len(set(months)) == 12
    tasks = list(db.scalars(
        select(TrackedTask).join(InspectionRoundItem, InspectionRoundItem.task_id == TrackedTask.id)
    ))  # fmt: skip
    assert tasks and {t.kind for t in tasks} == {"rectification"}
    done = [t for t in tasks if t.status == "done"]
    on_time = [t for t in done if t.done_at is not None and t.done_at <= t.due_at]
    assert len(on_time) > len(tasks) / 2  # most are done on time …
    assert len(on_time) < len(tasks)  # … but not all: some are late or still open
    with_photo = set(db.scalars(select(TrackedTaskPhoto.task_id)))
    assert all(t.id in with_photo for t in done)  # none closed without evidence
    sheets = db.scalar(select(func.count()).select_from(SelfAssessment).where(
        SelfAssessment.status == "submitted"))  # fmt: skip
    assert sheets == 2 * (towns or 0)

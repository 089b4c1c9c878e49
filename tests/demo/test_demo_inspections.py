"""The demo's supervision rectifications: the ones still open are not all overdue (last month's
round gave deadlines still ahead), so the task lists show red, yellow and green."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import Clock
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import task_light


def test_the_demo_rectifications_still_open_are_of_every_light(db: Session) -> None:
    now = Clock().now()
    tasks = db.scalars(select(TrackedTask).where(
        TrackedTask.source_type == "inspection", TrackedTask.status == "open"))  # fmt: skip
    lights = Counter(task_light(t, now) for t in tasks)
    assert lights["green"] > 0 and lights["yellow"] > 0 and lights["red"] > 0, lights


def test_the_demo_has_open_tasks_of_every_light(db: Session) -> None:
    """未办结 is more than 已超期: of all open tasks, some are still green or yellow."""
    now = Clock().now()
    tasks = list(db.scalars(select(TrackedTask).where(TrackedTask.status == "open")))
    lights = Counter(task_light(t, now) for t in tasks)
    assert lights["red"] < len(tasks) and lights["green"] > 0 and lights["yellow"] > 0, lights

"""The meetings' job: regular meetings created ahead, missed ones flagged (schedule.py)."""

from __future__ import annotations

from fengqiao.jobs import JobContext, job
from fengqiao.meetings.schedule import run


@job("meetings.schedule", "Regular analysis meetings scheduled ahead; a meeting not held flagged")
def meetings_schedule(ctx: JobContext) -> dict[str, int]:
    return run(ctx.database, ctx.now)

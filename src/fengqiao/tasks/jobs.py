"""The tasks' job: reminders before, and overdue marks at, tracked tasks' deadlines."""

from __future__ import annotations

from fengqiao.jobs import JobContext, job
from fengqiao.tasks.sweeper import sweep


@job("tasks.sweep", "Tracked tasks: one reminder 24 h before the deadline, overdue marks after")
def tasks_sweep(ctx: JobContext) -> dict[str, int]:
    return sweep(ctx.database, ctx.now, batch=ctx.settings.worker_batch)

"""The `rollups` job: take the changes filings and steps have queued into the rollups."""

from __future__ import annotations

from dataclasses import asdict

from fengqiao.analytics.rollups import apply_pending
from fengqiao.jobs import JobContext, job


@job("rollups", "Rollups: add the queued changes of events to the tables the charts read")
def rollups(ctx: JobContext) -> dict[str, int]:
    return asdict(apply_pending(ctx.database, batch=ctx.settings.worker_batch))

"""The `campaigns` job: tag newly filed events to running campaigns, count tagged closings."""

from __future__ import annotations

from dataclasses import asdict

from fengqiao.campaigns.tagging import run
from fengqiao.jobs import JobContext, job


@job("campaigns", "Campaigns: tag newly filed events, count the closings of tagged events")
def campaigns(ctx: JobContext) -> dict[str, int]:
    return asdict(run(ctx.database, now=ctx.now, batch=ctx.settings.worker_batch))

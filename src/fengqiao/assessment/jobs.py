"""The `bulletin` job: yesterday's daily bulletin, once it is due, to its subscribers."""

from __future__ import annotations

from fengqiao.assessment.bulletin import make_due
from fengqiao.jobs import JobContext, job


@job(
    "bulletin",
    "Daily bulletin (每日通报): yesterday's, from FENGQIAO_BULLETIN_HOUR, to subscribers",
)
def bulletin(ctx: JobContext) -> dict[str, int]:
    return make_due(database=ctx.database, settings=ctx.settings, now=ctx.now)

"""The `warnings` job: the four detectors over the events stored up to the job's `now`."""

from __future__ import annotations

from fengqiao.jobs import JobContext, job
from fengqiao.warnings.service import WarningRules, run_detectors


@job("warnings", "Early warnings: spikes, stability clusters, repeats at one place, unit backlogs")
def warnings(ctx: JobContext) -> dict[str, int]:
    return run_detectors(
        database=ctx.database, now=ctx.now, rules=WarningRules.from_settings(ctx.settings)
    )

"""The warnings jobs: the four detectors over the events stored up to the job's `now`, and the
follow-ups (reminder, climb to the district) of the warnings nobody has acknowledged."""

from __future__ import annotations

from fengqiao.jobs import JobContext, job
from fengqiao.warnings.followups import run_followups
from fengqiao.warnings.service import WarningRules, run_detectors


@job("warnings", "Early warnings: spikes, stability clusters, repeats at one place, unit backlogs")
def warnings(ctx: JobContext) -> dict[str, int]:
    return run_detectors(
        database=ctx.database, now=ctx.now, rules=WarningRules.from_settings(ctx.settings)
    )


@job(
    "warning_followups",
    "Early warnings not acknowledged: a reminder after FENGQIAO_WARNING_REMIND_DAYS, the "
    "district told after FENGQIAO_WARNING_CLIMB_DAYS",
)
def warning_followups(ctx: JobContext) -> dict[str, int]:
    return run_followups(
        database=ctx.database, now=ctx.now, rules=WarningRules.from_settings(ctx.settings),
        batch=ctx.settings.worker_batch,
    )  # fmt: skip

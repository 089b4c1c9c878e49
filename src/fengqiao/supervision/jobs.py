"""The SLA sweeper job: reminders, overdue orders and escalation (events/sweeper.py)."""

from __future__ import annotations

from fengqiao.events.escalation import EscalationPolicy
from fengqiao.jobs import JobContext, job
from fengqiao.supervision.sweeper import sweep


@job("sla", "SLA sweeper: reminders before deadlines, overdue orders, the escalation ladder")
def sla(ctx: JobContext) -> dict[str, int]:
    return sweep(
        ctx.database,
        ctx.now,
        EscalationPolicy.from_settings(ctx.settings),
        batch=ctx.settings.worker_batch,
    )

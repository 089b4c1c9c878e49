"""notify's scheduled work: the outbox sender, registered as the job `outbox`."""

from __future__ import annotations

from fengqiao.jobs import JobContext, job
from fengqiao.notify.sender import anything_due, send_due


@job(
    "outbox",
    "Outbox sender: delivers queued messages (SMS, email, in-app) with retries and dead letters",
    needs_channels=True,
)
def outbox_job(ctx: JobContext) -> dict[str, int]:
    """Deliver every message due at the run's clock reading (the worker runs it every
    `outbox_poll_seconds`, in a lane of its own: fengqiao/worker.py)."""
    if not anything_due(ctx.database, ctx.now):
        return {}
    return send_due(ctx.database, ctx.channels, ctx.now, ctx.settings)

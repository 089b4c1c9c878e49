"""The command room's job: alarms nobody took climb to the district (command/alarms.py)."""

from __future__ import annotations

from fengqiao.command.alarms import climb_unanswered
from fengqiao.jobs import JobContext, job


@job(
    "alarms",
    "Alarms (urgent and IoT events) nobody took (接警) within alarm_climb_minutes climb to the "
    "district command room: its operators and leaders are told, the climb is on the trail",
)
def alarms(ctx: JobContext) -> dict[str, int]:
    return climb_unanswered(
        ctx.database,
        ctx.now,
        minutes=ctx.settings.alarm_climb_minutes,
        batch=ctx.settings.worker_batch,
    )

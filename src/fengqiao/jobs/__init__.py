"""Named jobs the worker runs: `fengqiao jobs list`, `fengqiao jobs run NAME [--now ...]`.

A job is a function of a `JobContext` (the database, the settings, the channels and one clock
reading) that returns counts of what it did. Jobs select stored due times (`remind_at <= now`,
`due_at <= now`, `next_attempt_at <= now`), never clock arithmetic, so a late or restarted worker
catches up and misses nothing, and `--now` replays any moment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from fengqiao.config import Settings
from fengqiao.db import Database


@dataclass
class JobContext:
    database: Database
    settings: Settings
    now: datetime
    # notify's delivery channels by name (`notify.channels.Channel`), loaded by the worker for
    # the jobs that send; typed loosely because the job registry sits below notify.
    channels: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Job:
    name: str
    description: str
    run: Callable[[JobContext], dict[str, int]]
    needs_channels: bool = False


_JOBS: dict[str, Job] = {}


def job(
    name: str, description: str, *, needs_channels: bool = False
) -> Callable[[Callable[[JobContext], dict[str, int]]], Callable[[JobContext], dict[str, int]]]:
    """Register a job under `name`."""

    def register(
        function: Callable[[JobContext], dict[str, int]],
    ) -> Callable[[JobContext], dict[str, int]]:
        _JOBS[name] = Job(name, description, function, needs_channels)
        return function

    return register


def registered(*, order: Sequence[str]) -> dict[str, Job]:
    """Every registered job, by name, those of the modules in `order` first and in that order.

    A domain's jobs register when its `jobs.py` is imported; the worker (fengqiao/worker.py),
    above every domain, imports them and gives the order."""

    def position(job: Job) -> int:
        module = job.run.__module__
        return order.index(module) if module in order else len(order)

    return {job.name: job for job in sorted(_JOBS.values(), key=position)}

"""`fengqiao worker`: runs every job in turn, sleeps, and again, until stopped.

On SQLite exactly one worker may run per database file: it holds an exclusive lock on
`<database>.worker.lock` for its lifetime, and a second worker refuses to start with a message.
On PostgreSQL any number run side by side; jobs claim rows with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import fcntl
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import IO

from fengqiao import fanout
from fengqiao.analytics import jobs as analytics_jobs
from fengqiao.assessment import jobs as assessment_jobs
from fengqiao.campaigns import jobs as campaign_jobs
from fengqiao.catalogue import jobs as catalogue_jobs
from fengqiao.clock import Clock
from fengqiao.command import jobs as command_jobs
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.iot import jobs as iot_jobs
from fengqiao.jobs import Job, JobContext, registered
from fengqiao.meetings import jobs as meeting_jobs
from fengqiao.metrics import timed_job
from fengqiao.notify import jobs as notify_jobs
from fengqiao.notify.channels import Channel, load_channels
from fengqiao.partitions import jobs as partition_jobs
from fengqiao.supervision import jobs as supervision_jobs
from fengqiao.tasks import jobs as task_jobs
from fengqiao.warnings import jobs as warnings_jobs

# The domains whose jobs the worker runs, in the order one round runs them.
JOB_MODULES = (
    supervision_jobs,
    task_jobs,
    meeting_jobs,
    analytics_jobs,
    warnings_jobs,
    campaign_jobs,
    assessment_jobs,
    catalogue_jobs,
    iot_jobs,
    command_jobs,
    partition_jobs,
    notify_jobs,
)


def jobs() -> dict[str, Job]:
    """Every job, by name, in the order one round runs them."""
    return registered(order=[module.__name__ for module in JOB_MODULES])


log = logging.getLogger("fengqiao.worker")


class WorkerAlreadyRunning(Exception):
    """Another worker holds this SQLite database."""


def lock_path(database: Database) -> Path | None:
    """The lock file of a SQLite database file; None on PostgreSQL (or in-memory SQLite)."""
    if not database.is_sqlite:
        return None
    name = database.engine.url.database or ""
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name).resolve().with_name(Path(name).name + ".worker.lock")


@contextmanager
def single_worker(database: Database) -> Iterator[None]:
    """Hold the SQLite worker lock for the duration, or raise WorkerAlreadyRunning."""
    path = lock_path(database)
    if path is None:
        yield
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle: IO[str] = path.open("a+")
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise WorkerAlreadyRunning(
                f"a worker already runs on {database.engine.url.database} ({holder}); on SQLite "
                "only one worker may run. Stop it first, or use PostgreSQL to run several."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock


def run_once(
    database: Database,
    settings: Settings,
    now: datetime,
    *,
    names: list[str] | None = None,
    channels: dict[str, Channel] | None = None,
) -> dict[str, dict[str, int]]:
    """Run the named jobs (all by default) once at `now`; their counts by job name."""
    registry = jobs()
    selected = names or list(registry)
    unknown = [n for n in selected if n not in registry]
    if unknown:
        raise KeyError(f"unknown jobs {unknown}; known: {', '.join(registry)}")
    context = JobContext(database=database, settings=settings, now=now)
    if channels is not None:
        context.channels = channels
    elif any(registry[n].needs_channels for n in selected):
        context.channels = load_channels(settings, database)
    try:
        return {name: registry[name].run(context) for name in selected}
    finally:
        if channels is None:
            for channel in {id(c): c for c in context.channels.values()}.values():
                channel.close()


# Jobs that run in a lane of their own, every `outbox_poll_seconds`, beside the round of the
# others: a message a step queues goes out within about that long, however long the round takes
# (the rollups, the warnings and the bulletins can take seconds). Their counts join the round's.
FAST_LANE = ("outbox",)


def _run(job: Job, context: JobContext, poll_seconds: float) -> dict[str, int]:
    try:
        with timed_job(job.name, poll_seconds):  # metrics: duration, lag
            return job.run(context)
    except Exception:  # one failing job must not stop the others or the loop
        log.exception("job %s failed", job.name)
        return {"failed": 1}


def run_forever(
    database: Database,
    settings: Settings,
    clock: Clock,
    *,
    stop: threading.Event | None = None,
    on_round: Callable[[dict[str, dict[str, int]]], None] | None = None,
) -> None:
    """Rounds of every job until `stop` is set (SIGTERM and SIGINT set it in the CLI); the
    FAST_LANE jobs run in their own thread meanwhile."""
    stop = stop or threading.Event()
    fanout.configure(settings)  # the worker's steps (alarms climbing) reach the live streams
    channels = load_channels(settings, database)
    registry = jobs()
    fast = {name: registry[name] for name in FAST_LANE if name in registry}
    lane_counts: dict[str, dict[str, int]] = {}
    lane_lock, lane_stop = threading.Lock(), threading.Event()

    def lane() -> None:
        while not (stop.is_set() or lane_stop.is_set()):
            for name, job in fast.items():
                context = JobContext(database, settings, clock.now(), dict(channels))
                done = _run(job, context, settings.outbox_poll_seconds)
                with lane_lock:
                    total = lane_counts.setdefault(name, {})
                    for key, value in done.items():
                        total[key] = total.get(key, 0) + value
            lane_stop.wait(settings.outbox_poll_seconds)

    lane_thread = threading.Thread(target=lane, name="worker-fast-lane", daemon=True)
    lane_thread.start()
    try:
        while not stop.is_set():
            counts: dict[str, dict[str, int]] = {}
            for name, job in registry.items():
                if name in fast:
                    continue
                context = JobContext(database, settings, clock.now(), dict(channels))
                counts[name] = _run(job, context, settings.worker_poll_seconds)
            with lane_lock:
                counts |= {name: lane_counts.pop(name, {}) for name in fast}
            if on_round is not None:
                on_round(counts)
            if any(v for c in counts.values() for v in c.values()):
                log.info("round: %s", counts)
            stop.wait(settings.worker_poll_seconds)
    finally:
        lane_stop.set()
        lane_thread.join()
        for channel in {id(c): c for c in channels.values()}.values():
            channel.close()


def install_signal_handlers(stop: threading.Event) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())

"""Prometheus metrics, safe across processes: the app's uvicorn workers and `fengqiao worker`
write to one folder (PROMETHEUS_MULTIPROC_DIR, by default <data_dir>/metrics) and `/metrics`
adds them up. Queue depths are read from the database at scrape time.

Bottom layer: the queues are read by table name, so nothing here imports a domain.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from sqlalchemy import column, func, select, table

from fengqiao.db import Database, UTCDateTime

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

HTTP_DURATION = Histogram(
    "fengqiao_http_request_duration_seconds",
    "Time from a request's arrival to its last body byte, by route template and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_ERRORS = Counter(
    "fengqiao_http_errors_total",
    "Responses with a 5xx status (an unhandled exception counts as 500), by route template.",
    ["method", "route", "status"],
)
OPEN_STREAMS = Gauge(
    "fengqiao_open_streams",
    "Server-sent event streams (text/event-stream responses) open now, by route template.",
    ["route"],
    multiprocess_mode="livesum",
)
PERSONAL_DATA_VIEWS = Counter(
    "fengqiao_personal_data_access_total",
    "Requests that served personal data unmasked (rows written to the access log), by table.",
    ["table"],
)
JOB_DURATION = Histogram(
    "fengqiao_job_duration_seconds",
    "Time one run of a worker job took, by job and outcome (ok or failed).",
    ["job", "outcome"],
    buckets=(0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0),
)
JOB_LAG = Histogram(
    "fengqiao_job_lag_seconds",
    "How late a job started: its start minus when it was due (its previous run's end plus the "
    "worker's poll interval).",
    ["job"],
    buckets=(0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0),
)
READ_FALLBACKS = Counter(
    "fengqiao_read_fallbacks_total",
    "Reads meant for the replica (FENGQIAO_READ_DATABASE_URL) served by the primary, by reason: "
    "lag (more than FENGQIAO_READ_MAX_LAG_SECONDS behind) or down (unreachable).",
    ["reason"],
)


def read_fallback(reason: str) -> None:
    """Count one read sent to the primary instead of the replica."""
    READ_FALLBACKS.labels(reason).inc()


_job_last_end: dict[str, float] = {}


@contextmanager
def timed_job(name: str, poll_seconds: float) -> Iterator[None]:
    """Around one run of a job: its lag (after the first run) and its duration."""
    started = time.monotonic()
    previous = _job_last_end.get(name)
    if previous is not None:
        JOB_LAG.labels(name).observe(max(0.0, started - previous - poll_seconds))
    outcome = "failed"
    try:
        yield
        outcome = "ok"
    finally:
        ended = time.monotonic()
        _job_last_end[name] = ended
        JOB_DURATION.labels(name, outcome).observe(ended - started)


# --- processes ---------------------------------------------------------------------------------


def prepare_multiprocess(directory: Path) -> Path:
    """Make this process write its metrics to `directory` (shared with the other processes):
    called by `fengqiao serve` and `fengqiao worker` before they start. Files of processes that
    are gone are removed, so their gauges stop counting."""
    directory.mkdir(parents=True, exist_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory)
    for path in directory.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            path.unlink(missing_ok=True)
    # Metric values made from now on are backed by files (labelled children are made lazily,
    # so every metric above is covered even if this module was imported earlier).
    values.ValueClass = values.get_value_class()
    return directory


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_exited(pid: int) -> None:
    """Drop a dead process's live gauges (uvicorn's supervisor may call it for a worker)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


# --- exposition --------------------------------------------------------------------------------


class _ThisProcess:
    """The default registry (this process's metrics) when there is no shared folder."""

    def collect(self) -> Iterable[Metric]:
        return REGISTRY.collect()


class QueueCollector:
    """Queue depths read from the database when scraped: outbox backlog by channel and status,
    how long the oldest due message has waited, and the rollup queue."""

    def __init__(self, database: Database, now: Any) -> None:
        self.database = database
        self.now = now

    def collect(self) -> Iterable[Metric]:
        now: datetime = self.now()
        outbox = table(
            "outbox", column("channel"), column("status"),
            column("next_attempt_at", UTCDateTime()),
        )  # fmt: skip
        pending = table("rollup_pending", column("event_id"), column("queued_at", UTCDateTime()))
        backlog = GaugeMetricFamily(
            "fengqiao_outbox_backlog",
            "Messages in the outbox not sent: pending (to try) and dead (given up), by channel.",
            labels=["channel", "status"],
        )
        oldest = GaugeMetricFamily(
            "fengqiao_outbox_oldest_due_seconds",
            "How long the oldest pending message has been due (0: none due), by channel.",
            labels=["channel"],
        )
        depth = GaugeMetricFamily(
            "fengqiao_rollup_queue_depth", "Events whose changes the rollups have not taken in."
        )
        waited = GaugeMetricFamily(
            "fengqiao_rollup_queue_oldest_seconds",
            "How long the oldest event has waited for the rollups (0: queue empty).",
        )
        with self.database.session() as session:
            by_status = session.execute(
                select(outbox.c.channel, outbox.c.status, func.count())
                .where(outbox.c.status.in_(("pending", "dead")))
                .group_by(outbox.c.channel, outbox.c.status)
            ).all()
            due = session.execute(
                select(outbox.c.channel, func.min(outbox.c.next_attempt_at))
                .where(outbox.c.status == "pending", outbox.c.next_attempt_at <= now)
                .group_by(outbox.c.channel)
            ).all()
            queued, first = session.execute(
                select(func.count(), func.min(pending.c.queued_at))
            ).one()
        for channel, status, count in by_status:
            backlog.add_metric([channel, status], count)
        for channel, at in due:
            oldest.add_metric([channel], max(0.0, (now - _aware(at)).total_seconds()))
        depth.add_metric([], queued)
        waited.add_metric([], max(0.0, (now - _aware(first)).total_seconds()) if first else 0.0)
        return [backlog, oldest, depth, waited]


def _aware(value: Any) -> datetime:
    # min() over a column loses its type on SQLite: the stored text comes back.
    if isinstance(value, str):
        value = UTCDateTime().process_result_value(datetime.fromisoformat(value), None)
    assert isinstance(value, datetime)
    return UTCDateTime().process_result_value(value, None) or value


def exposition(database: Database, now: Any) -> bytes:
    """The text every process's metrics add up to, plus the queues as they stand."""
    registry = CollectorRegistry()  # collectors are not described: the queries run once
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ThisProcess())
    registry.register(QueueCollector(database, now))
    return generate_latest(registry)

"""A province's year of events (`fengqiao seed --scale zhejiang --events N [--jobs J]`).

N events are spread over the districts in proportion to their grids and cut into batches of
`events.BATCH`; each batch is planned by the keqiao seed's planner (demo/events.py: points
resolved by the grid index, `route()`, `deadline_for()` with the working calendar, the chained
`row_hash` trail) with its district's bounds and routing snapshot, and COPYed in its own
transaction. Batches are independent, so J worker processes (default: the machine's cores) run
them side by side:

- ids: each batch's event ids are a range fixed before the run (the districts in id order, each
  district's share in batches), so no two processes ever pick the same id; trail rows take
  theirs from the table's sequence;
- codes (`<town prefix>-<day>-<nnnn>`, one counter per prefix and local day across the
  province): a batch plans its codes from 1 and then takes a block of each counter from
  `event_sequence` with one upsert (`value = value + n … RETURNING`) in its own short
  transaction, so concurrent batches get disjoint blocks — the same table the online filing
  path counts in, left holding the last number handed out;
- each batch has its own random stream (seed, district, batch), so what is planned does not
  depend on which process ran it; only which block of code numbers a batch gets does.

All or nothing from the user's view: the run starts from an empty event table (it refuses
otherwise); if any batch fails (or a worker dies) the others are stopped and the events, trails
and code counters written so far are truncated before the error is raised, so the database is
as it was before the run and the same command can simply be run again.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import select

from fengqiao.analytics.rollups import rebuild as rebuild_rollups
from fengqiao.command.alarms import settle_history
from fengqiao.db import Database
from fengqiao.demo import events as demo_events
from fengqiao.demo.plan import Progress
from fengqiao.demo.zhejiang import _apportion
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.partitions.jobs import maintain as maintain_partitions


@dataclass
class ProvinceEventReport:
    events: int
    trail_rows: int
    open_events: int
    seconds: float
    jobs: int = 1
    # Wall seconds of each stage: "events" (plan + COPY), "indexes" (the event tables' non-unique
    # indexes rebuilt after the load), "settle" (id sequences, ANALYZE,
    # the history's alarms), "rollups" (the rebuild).
    stages: dict[str, float] = dataclasses.field(default_factory=dict)


@dataclass(frozen=True)
class _Batch:
    """One unit of work: `size` events of one district, ids from `first_id`."""

    district_id: int
    bounds: tuple[float, float, float, float]
    first_id: int
    size: int
    rng_key: tuple[int, int, int]  # (seed, district's position, batch's position)


@dataclass(frozen=True)
class _Done:
    events: int
    trail_rows: int
    open_events: int


# The planner built once by the parent, inherited by forked workers (copy-on-write).
_STATE: dict[str, Any] = {}


def _batches(districts: list[Any], shares: list[int], seed: int) -> Iterator[_Batch]:
    first_id = 1
    for position, (district, share) in enumerate(zip(districts, shares, strict=True)):
        bounds = (district.min_lng, district.min_lat, district.max_lng, district.max_lat)
        for chunk, start in enumerate(range(0, share, demo_events.BATCH)):
            size = min(demo_events.BATCH, share - start)
            yield _Batch(district.id, bounds, first_id, size, (seed, position, chunk))
            first_id += size


def allocate_codes(db: Database, wanted: Counter[tuple[str, str]]) -> dict[tuple[str, str], int]:
    """Take a block of `wanted[key]` numbers from each (prefix, day) counter in its own
    transaction: key → the number before the block (the block is base+1 … base+n)."""
    if not wanted:
        return {}
    keys = sorted(wanted)  # a fixed order: two batches never wait on each other in a cycle
    marker = "?" if db.is_sqlite else "%s"
    values = ", ".join([f"({marker}, {marker}, {marker})"] * len(keys))
    sql = (
        f"INSERT INTO event_sequence (prefix, day, value) VALUES {values} "
        "ON CONFLICT (prefix, day) DO UPDATE SET value = event_sequence.value + excluded.value "
        "RETURNING prefix, day, value"
    )
    parameters = tuple(v for key in keys for v in (*key, wanted[key]))
    bases: dict[tuple[str, str], int] = {}
    with db.transaction() as session:
        for prefix, day, value in session.connection().exec_driver_sql(sql, parameters):
            bases[(prefix, day)] = int(value) - wanted[(prefix, day)]
    return bases


def _renumbered(events: list[tuple[Any, ...]], bases: dict[tuple[str, str], int]) -> list[tuple[Any, ...]]:  # fmt: skip
    out = []
    for row in events:
        head, _, number = row[1].rpartition("-")
        prefix, _, day = head.partition("-")
        out.append((row[0], f"{head}-{bases[(prefix, day)] + int(number):04d}", *row[2:]))
    return out


def _run(batch: _Batch) -> _Done:
    """Plan one batch, take its code numbers, COPY it in its own transaction."""
    planner: demo_events._Planner = _STATE["planner"]
    db: Database | None = _STATE.get("db")
    if db is None or _STATE.get("pid") != os.getpid():  # a forked worker: its own connections
        db = _STATE["db"] = Database(_STATE["url"])
        _STATE["pid"] = os.getpid()
    # The district's own units serve its events: routing's nearest-unit walk ends at the
    # event's town's district (`Rules.district_of`), whatever the snapshot's order.
    planner.bounds = batch.bounds
    planner.rng = np.random.default_rng(batch.rng_key)
    planner.sequences = Counter()  # this batch's codes from 1, then moved onto its block
    events, logs = planner.plan(batch.size, first_id=batch.first_id)
    events = _renumbered(events, allocate_codes(db, planner.sequences))
    demo_events._Writer(db).write(events, logs)
    still_open = sum(1 for e in events if e[demo_events._STATUS] not in demo_events._FINAL)
    return _Done(batch.size, len(logs), still_open)


def _district_shares(db: Database, count: int) -> tuple[list[Any], list[int]]:
    with db.session() as session:
        districts = session.execute(
            select(OrgUnit.id, OrgUnit.path, OrgUnit.min_lng, OrgUnit.min_lat, OrgUnit.max_lng,
                   OrgUnit.max_lat).where(OrgUnit.kind == "district").order_by(OrgUnit.id)
        ).all()  # fmt: skip
        per_district = {d.id: 0 for d in districts}
        for path in session.execute(select(OrgUnit.path).where(OrgUnit.kind == "grid")).scalars():
            for part in path.strip("/").split("/"):
                if int(part) in per_district:
                    per_district[int(part)] += 1
                    break
    return list(districts), _apportion([per_district[d.id] for d in districts], count, 0)


def _clean(db: Database) -> None:
    """Back to before the run: no events, trails or code counters (the run began with none).

    The trail is append-only in the database (migration 0002's triggers); this one path, which
    removes only the rows the failed run itself wrote into a table that was empty, lifts the
    guard inside its own transaction and puts it back before committing, so no other session
    ever sees the table unguarded (DDL is transactional on both backends)."""
    with db.transaction() as session:
        conn = session.connection()
        if db.is_sqlite:
            conn.exec_driver_sql("DROP TRIGGER event_log_no_delete")
            for table in ("event_log", "event", "event_sequence"):
                conn.exec_driver_sql(f"DELETE FROM {table}")
            conn.exec_driver_sql(
                "CREATE TRIGGER event_log_no_delete BEFORE DELETE ON event_log "
                "BEGIN SELECT RAISE(ABORT, 'event_log is append-only'); END"
            )
        else:
            conn.exec_driver_sql("ALTER TABLE event_log DISABLE TRIGGER event_log_no_truncate")
            conn.exec_driver_sql("TRUNCATE event_log, event, event_sequence CASCADE")
            conn.exec_driver_sql("ALTER TABLE event_log ENABLE TRIGGER event_log_no_truncate")


# The non-unique indexes of the event tables: dropped for the load, rebuilt once after it.
_SECONDARY = """
SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x
JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid
WHERE t.relname IN ('event', 'event_log') AND t.relnamespace = current_schema()::regnamespace
  AND NOT x.indisunique
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
ORDER BY i.relname
"""


def secondary_indexes(db: Database) -> list[tuple[str, str]]:
    """(name, definition) of the event tables' non-unique indexes (PostgreSQL)."""
    with db.engine.connect() as conn:
        return [(name, sql) for name, sql in conn.exec_driver_sql(_SECONDARY)]


def _drop_indexes(db: Database) -> list[tuple[str, str]]:
    """PostgreSQL: the event tables' 29 non-unique indexes (a GIN trigram among them) cost more
    per COPYed row than everything else; a bulk build after the load sorts once. The unique
    ones (ids, codes, trail sequence numbers) stay and keep guarding the load."""
    if db.is_sqlite:
        return []
    indexes = secondary_indexes(db)
    with db.transaction() as session:
        for name, _ in indexes:
            session.connection().exec_driver_sql(f'DROP INDEX "{name}"')
    return indexes


def _restore_indexes(db: Database, indexes: list[tuple[str, str]]) -> None:
    if not indexes:
        return
    with db.transaction() as session:
        conn = session.connection()
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in indexes:
            # A partitioned table's index is shown `ON ONLY`: built here on every partition too.
            conn.exec_driver_sql(definition.replace(" ON ONLY ", " ON ", 1))


def seed_province_events(
    *,
    db: Database,
    count: int,
    until: datetime,
    seed: int = 20171018,
    jobs: int | None = None,
    progress: Progress | None = None,
) -> ProvinceEventReport:
    """`count` events over the year before `until`, spread over the districts by their grids,
    each planned by the keqiao planner with routing resolved within its own district; `jobs`
    worker processes (default: the cores; SQLite: one, it has a single writer)."""
    started = time.perf_counter()
    report: Progress = progress or (lambda stage, done, total: None)
    jobs = 1 if db.is_sqlite else max(1, jobs or os.cpu_count() or 1)
    with db.session() as session:
        if session.scalar(select(Event.id).limit(1)) is not None:
            raise ValueError("the database already holds events; seed events into an empty table")
        people = demo_events._people(session.connection())
    districts, shares = _district_shares(db, count)
    batches = list(_batches(districts, shares, seed))
    planner = demo_events._planner(db, until, seed, people)
    # The year's months get their partitions first (PostgreSQL; a no-op on SQLite).
    maintain_partitions(db, now=until - timedelta(days=400), ahead=15, retention=1200)
    _STATE.update(planner=planner, rules=planner.rules, url=db.url, db=db, pid=os.getpid())
    totals = _Done(0, 0, 0)
    dropped = _drop_indexes(db)
    stages: dict[str, float] = {}
    mark = time.perf_counter()

    def stage(name: str) -> None:
        nonlocal mark
        stages[name] = round(time.perf_counter() - mark, 1)
        mark = time.perf_counter()

    try:
        report("events", 0, count)
        for done in _execute(batches, jobs):
            totals = _Done(*(a + b for a, b in zip(dataclasses.astuple(totals),
                                                   dataclasses.astuple(done), strict=True)))  # fmt: skip
            report("events", totals.events, count)
        stage("events")
        report("indexes", 0, 1)
        _restore_indexes(db, dropped)
        dropped = []
        report("indexes", 1, 1)
        stage("indexes")
        demo_events._Writer(db).finish(Counter())  # id sequences and statistics
        with db.transaction() as session:
            settle_history(session, until=until)
        stage("settle")
        report("rollups", 0, 1)
        rebuild_rollups(db)  # in SQL on PostgreSQL (analytics/rollups_sql.py)
        report("rollups", 1, 1)
        stage("rollups")
    except BaseException:
        _clean(db)
        raise
    finally:
        _STATE.clear()
        _restore_indexes(db, dropped)  # a failed load: the tables as they were
    return ProvinceEventReport(
        events=totals.events, trail_rows=totals.trail_rows, open_events=totals.open_events,
        seconds=round(time.perf_counter() - started, 1), jobs=jobs, stages=stages,
    )  # fmt: skip


def _execute(batches: list[_Batch], jobs: int) -> Iterator[_Done]:
    """Each batch's result as it finishes: in this process, or in `jobs` forked workers."""
    if jobs == 1:
        for batch in batches:
            yield _run(batch)
        return
    _STATE["db"].engine.dispose()  # no pooled connection shared with the forked workers
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(jobs, mp_context=context) as pool:
        pending: set[Future[_Done]] = {pool.submit(_run, batch) for batch in batches}
        try:
            while pending:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in finished:
                    yield future.result()  # a failed batch or a dead worker raises here
        except BaseException:
            for future in pending:
                future.cancel()
            for process in list((pool._processes or {}).values()):  # stop those in flight
                process.terminate()
            raise

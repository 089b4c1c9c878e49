"""Keeping the rollups: the delta of one event's change, applied in its own transaction, and a
rebuild from scratch that sums the same entries over every event.

`record_change(db, before, after)` is called wherever an event is filed or changes (filing,
every workflow step, the sweeper's red light); it upserts `rows(after) - rows(before)` in a
fixed order of tables and keys (so two transactions on PostgreSQL never wait on each other in
a cycle). `rebuild` replaces every rollup row with the sums over the events table; `compare`
lists where the stored rollups differ from a rebuild, which must be nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import numpy as np
from sqlalchemy import Integer, Table, delete, select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fengqiao.analytics import active
from fengqiao.analytics.facts import (
    COUNTER_INDEX,
    COUNTERS,
    day_number,
    dimension,
    entries,
    hour_of_week,
    key_values,
    month_number,
)
from fengqiao.analytics.models import DIMENSION_TYPES, SPEC_BY_NAME, SPECS, TABLES, RollupSpec
from fengqiao.db import Database, UTCDateTime
from fengqiao.events.changes import STATE_COLUMNS, EventState, decode_state
from fengqiao.events.models import Event, RollupPending

Key = tuple[Any, ...]
Sums = dict[int, int]  # counter index → value, zeros left out
Rows = dict[str, dict[Key, Sums]]  # rollup name → key → sums
WIDTH = len(COUNTERS)


_KEPT = {spec.name: frozenset(COUNTERS.index(c) for c in spec.counters) for spec in SPECS}


def add_rows(rows: Rows, state: EventState, sign: int = 1) -> None:
    """Add (or with sign -1 take away) the rows one event in `state` contributes."""
    own = key_values(state)
    for entry in entries(state):
        at = entry.at
        periods = {"day": day_number(at), "month": month_number(at)}
        own["how"] = hour_of_week(at)
        for spec in SPECS:
            kept = _KEPT[spec.name]
            values = [(i, v) for i, v in entry.values if i in kept]
            if not values:
                continue
            key = (periods[spec.grain], *[own[name] for name in spec.columns])
            sums = rows.setdefault(spec.name, {}).setdefault(key, {})
            for index, value in values:
                sums[index] = sums.get(index, 0) + sign * value


def delta(before: EventState | None, after: EventState | None) -> Rows:
    """What the rollups must add when an event goes from `before` to `after` (None: absent)."""
    rows: Rows = {}
    if before == after:
        return rows
    if before is not None:
        add_rows(rows, before, -1)
    if after is not None:
        add_rows(rows, after, 1)
    return _nonzero_rows(rows)


def _nonzero_rows(rows: Rows) -> Rows:
    for name in list(rows):
        changed = {key: sums for key, sums in rows[name].items() if any(sums.values())}
        if changed:
            rows[name] = changed
        else:
            del rows[name]
    return rows


class _Upserts:
    """The add-to-counters upsert of each rollup table as driver SQL, built once per dialect.

    Driver-level statements with positional tuples: a step touches up to a dozen tables, and
    SQLAlchemy's per-statement work (a dict of forty parameters each) cost more than SQLite's.
    """

    def __init__(self, marker: str) -> None:
        self.statements: dict[str, str] = {}
        for spec in SPECS:
            names, values = _insert_columns(spec, marker)
            table = spec.table_name
            additions = ", ".join(f"{n} = {table}.{n} + excluded.{n}" for n in spec.counters)
            self.statements[spec.name] = (
                f"INSERT INTO {table} ({', '.join(names)}) VALUES ({values}) "
                f"ON CONFLICT (period, {', '.join(spec.dims)}) DO UPDATE SET {additions}"
            )


def _insert_columns(spec: RollupSpec, marker: str) -> tuple[tuple[str, ...], str]:
    """The columns a row of `spec` is inserted with, and their VALUES list: a day table's
    `district_id` is its town's parent (org/districts.py), read in the same statement from the
    town parameter again, so every writer (a step, the worker, a rebuild) fills it."""
    names = ("period", *spec.columns, *spec.counters)
    values = ", ".join([marker] * len(names))
    if _town_day(spec):
        names = (*names, "district_id")
        values += f", (SELECT parent_id FROM org_unit WHERE id = {marker})"
    return names, values


def _town_day(spec: RollupSpec) -> bool:
    """A town-keyed day table: it carries its town's district beside the key."""
    return spec.grain == "day" and not spec.by_district


def _town_again(spec: RollupSpec, row: tuple[Any, ...]) -> tuple[Any, ...]:
    # The town parameter of the district subquery (the town is the first dimension of a day table).
    return (*row, row[1]) if _town_day(spec) else row


_UPSERTS: dict[str, _Upserts] = {}


def _upserts(connection: Connection) -> _Upserts:
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    upserts = _UPSERTS.get(marker)
    if upserts is None:
        upserts = _UPSERTS[marker] = _Upserts(marker)
    return upserts


_INDEXES = {spec.name: [COUNTER_INDEX[name] for name in spec.counters] for spec in SPECS}


def _parameters(spec: RollupSpec, key: Key, sums: Sums) -> tuple[Any, ...]:
    get = sums.get
    return _town_again(spec, (*key, *[get(i, 0) for i in _INDEXES[spec.name]]))


def apply(db: Session, rows: Rows) -> int:
    """Upsert the rows (added to what is stored); the number of rows written."""
    if not rows:
        return 0
    connection = db.connection()
    statements = _upserts(connection).statements
    written = 0
    for spec in SPECS:  # a fixed order of tables and keys: no lock cycles between writers
        changed = rows.get(spec.name)
        if not changed:
            continue
        parameters = [_parameters(spec, key, changed[key]) for key in sorted(changed)]
        if len(parameters) == 1:
            connection.exec_driver_sql(statements[spec.name], parameters[0])
        else:
            connection.exec_driver_sql(statements[spec.name], parameters)
        written += len(parameters)
    reporters = rows.get("month_reporter")
    if reporters:  # (period, reporter, source, town, district): its cells counted again
        active.recount(connection, {(key[0], key[4], key[2]) for key in reporters})
    return written


def record_change(db: Session, before: EventState | None, after: EventState | None) -> int:
    """Move the rollups by one event's change at once (the worker's path; see queue_change)."""
    return apply(db, delta(before, after))


@dataclass(frozen=True)
class PendingReport:
    events: int
    rows: int


def apply_pending(database: Database, *, batch: int = 1000) -> PendingReport:
    """Take every waiting change into the rollups, a batch per transaction (the `rollups` job).

    Each batch locks its events (skipping any a step holds right now, on PostgreSQL), adds
    `now - before` for each, and deletes their queue rows in the same transaction: a change is
    counted once, and a step that comes later queues the state this batch counted.
    """
    table = cast(Table, Event.__table__)
    pending = cast(Table, RollupPending.__table__)
    columns = [table.c[name] for name in STATE_COLUMNS]
    events = rows = 0
    while True:
        with database.transaction() as db:
            # The queue first, then its events by id: a join let SQLite walk the events table.
            waiting = select(pending.c.event_id, pending.c.before).order_by(pending.c.event_id)
            events_of = select(table.c.id, *columns)
            if not database.is_sqlite:
                waiting = waiting.with_for_update(skip_locked=True)
                events_of = events_of.with_for_update(skip_locked=True)
            queued = {row[0]: row[1] for row in db.execute(waiting.limit(batch))}
            if not queued:
                return PendingReport(events, rows)
            found = db.execute(events_of.where(table.c.id.in_(list(queued)))).all()
            if not found:  # every one of them is in a step right now: the next round
                return PendingReport(events, rows)
            change: Rows = {}
            for row in found:
                before = queued[row[0]]
                if before is not None:
                    add_rows(change, decode_state(before), -1)
                add_rows(change, EventState(*row[1:]), 1)
            rows += apply(db, _nonzero_rows(change))
            done = [row[0] for row in found]
            db.execute(delete(pending).where(pending.c.event_id.in_(done)))
            events += len(done)


# --- from scratch ------------------------------------------------------------------------


def _event_states(connection: Connection, chunk: int) -> Iterator[list[EventState]]:
    table = cast(Table, Event.__table__)
    columns = [table.c[name] for name in STATE_COLUMNS]
    times = [
        i for i, name in enumerate(STATE_COLUMNS) if isinstance(table.c[name].type, UTCDateTime)
    ]
    sqlite = connection.dialect.name == "sqlite"
    last = 0
    while True:
        statement = select(table.c.id, *columns).where(table.c.id > last).order_by(table.c.id)
        statement = statement.limit(chunk)
        if sqlite:
            # SQLAlchemy parses SQLite's timestamps with a regular expression, a third of a
            # rebuild's time; fromisoformat reads the same text in C.
            raw = connection.exec_driver_sql(*_compiled(connection, statement)).fetchall()
            batch = [_parsed(row, times) for row in raw]
        else:
            batch = [tuple(row) for row in connection.execute(statement)]
        if not batch:
            return
        last = batch[-1][0]
        yield [EventState(*row[1:]) for row in batch]


def _compiled(connection: Connection, statement: Any) -> tuple[str, tuple[Any, ...]]:
    compiled = statement.compile(dialect=connection.dialect)
    return str(compiled), tuple(compiled.params[name] for name in compiled.positiontup)


def _parsed(row: Any, times: list[int]) -> tuple[Any, ...]:
    values = list(row)
    for i in times:
        text = values[i + 1]
        if text is not None:
            values[i + 1] = datetime.fromisoformat(text + "+00:00")
    return tuple(values)


class _Summer:
    """Sums the entries of many events into every rollup at once, with numpy.

    The entries and their dimensions come from the same `entries` and `dimension` as the
    incremental path; only the adding-up is vectorised (a Python dict per key costs ~200 µs an
    event, this ~15 µs), so a rebuild of a year of a district takes seconds, not minutes.
    """

    def __init__(self) -> None:
        self.dimensions = sorted({name for spec in SPECS for name in spec.columns})
        # Text dimensions are numbered for numpy; the numbers are turned back when rows come out.
        self.coded = {
            n for n in self.dimensions if n != "how" and DIMENSION_TYPES[n] is not Integer
        }
        self.vocabulary: dict[str, dict[Any, int]] = {name: {} for name in self.coded}
        self.partial: dict[str, list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = {
            spec.name: [] for spec in SPECS
        }

    def add(self, states: list[EventState]) -> None:
        days: list[int] = []
        months: list[int] = []
        hours: list[int] = []
        owner: list[int] = []  # the event (position in `states`) of each entry
        cells: tuple[list[int], list[int], list[int]] = ([], [], [])
        for position, state in enumerate(states):
            for entry in entries(state):
                row = len(days)
                days.append(day_number(entry.at))
                months.append(month_number(entry.at))
                hours.append(hour_of_week(entry.at))
                owner.append(position)
                for index, value in entry.values:
                    cells[0].append(row)
                    cells[1].append(index)
                    cells[2].append(value)
        if not days:
            return
        values = np.zeros((len(days), WIDTH), dtype=np.int64)
        values[cells[0], cells[1]] = cells[2]
        periods = {"day": np.array(days, dtype=np.int64), "month": np.array(months, dtype=np.int64)}
        taken = np.array(owner, dtype=np.int64)
        arrays = {"how": np.array(hours, dtype=np.int64)}
        for name in self.dimensions:
            if name == "how":
                continue
            # The event's own dimensions, read once per event and spread over its entries.
            column = [dimension(state, name, state.created_at) for state in states]
            if name in self.coded:
                codes = self.vocabulary[name]
                column = [codes.setdefault(value, len(codes)) for value in column]
            arrays[name] = np.array(column, dtype=np.int64)[taken]
        for spec in SPECS:
            keys = np.column_stack([periods[spec.grain], *(arrays[n] for n in spec.dims)])
            derived = (
                np.column_stack([arrays[n] for n in spec.derived])
                if spec.derived
                else np.zeros((len(days), 0), dtype=np.int64)
            )
            kept = [COUNTER_INDEX[c] for c in spec.counters]
            mine = values[:, kept]
            useful = mine.any(axis=1)
            parts = self.partial[spec.name]
            parts.append(_reduce(keys[useful], derived[useful], mine[useful]))
            if len(parts) >= 8:  # keep memory to about the size of the table, not the events
                parts[:] = [_reduce(*(np.concatenate([p[i] for p in parts]) for i in range(3)))]

    def rows(self, spec: RollupSpec) -> Iterator[tuple[Key, np.ndarray]]:
        """The summed rows of one rollup: (period, *columns) and the counters, zeros left out."""
        parts = self.partial[spec.name]
        if not parts:
            return
        keys, derived, sums = _reduce(
            np.concatenate([p[0] for p in parts]),
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2] for p in parts]),
        )
        decode = {name: list(self.vocabulary[name]) for name in spec.columns if name in self.coded}
        keep = sums.any(axis=1)
        keys, derived, sums = keys[keep], derived[keep], sums[keep]
        for key, extra, counters in zip(keys.tolist(), derived.tolist(), sums, strict=True):
            dims = [
                decode[n][c] if n in decode else c for n, c in zip(spec.dims, key[1:], strict=True)
            ]
            more = [
                decode[n][c] if n in decode else c for n, c in zip(spec.derived, extra, strict=True)
            ]
            yield (key[0], *dims, *more), counters


def _reduce(
    keys: np.ndarray, derived: np.ndarray, values: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Rows with equal keys summed (derived columns taken from the first of each key)."""
    # One int64 per key (each column ranked densely, then mixed-radix), sorted once in 1-D:
    # several times faster than numpy's row-wise unique.
    ranks, sizes = [], []
    for column in keys.T:
        values_of_column, rank = np.unique(column, return_inverse=True)
        ranks.append(rank.reshape(-1))
        sizes.append(len(values_of_column))
    flat = np.ravel_multi_index(ranks, sizes)
    order = np.argsort(flat, kind="stable")
    ordered = flat[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    sums = np.add.reduceat(values[order], starts, axis=0)
    first = order[starts]
    return keys[first], derived[first], sums


def _sum_events(connection: Connection, chunk: int) -> tuple[int, _Summer]:
    summer = _Summer()
    events = 0
    for states in _event_states(connection, chunk):
        events += len(states)
        summer.add(states)
    return events, summer


def compute(connection: Connection, *, chunk: int = 50000) -> dict[str, dict[Key, tuple[int, ...]]]:
    """Every rollup row, summed over the events table (nothing is written)."""
    _, summer = _sum_events(connection, chunk)
    return {
        spec.name: {key: tuple(int(v) for v in sums) for key, sums in summer.rows(spec)}
        for spec in SPECS
    }


def _insert_rows(
    connection: Connection, spec: RollupSpec, rows: Iterable[tuple[Key, np.ndarray]]
) -> int:
    """Insert summed rows with the driver's executemany (tuples, no per-row SQLAlchemy work)."""
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    names, values = _insert_columns(spec, marker)
    sql = f"INSERT INTO {spec.table_name} ({', '.join(names)}) VALUES ({values})"
    written = 0
    batch: list[tuple[Any, ...]] = []
    for key, sums in rows:
        batch.append(_town_again(spec, (*key, *sums.tolist())))
        if len(batch) == 10000:
            connection.exec_driver_sql(sql, batch)
            written += len(batch)
            batch = []
    if batch:
        connection.exec_driver_sql(sql, batch)
        written += len(batch)
    return written


@dataclass(frozen=True)
class RebuildReport:
    events: int
    rows: dict[str, int]


def rebuild(database: Database, *, chunk: int = 50000, in_sql: bool | None = None) -> RebuildReport:
    """Replace every rollup row with the sums over the events, in one transaction: on PostgreSQL
    by `INSERT … SELECT … GROUP BY` (rollups_sql.py, the same rows), elsewhere or with
    `in_sql=False` by summing `facts.entries` in Python."""
    if in_sql is None:
        in_sql = not database.is_sqlite
    with database.transaction() as db:
        connection = db.connection()
        if in_sql:
            from fengqiao.analytics.rollups_sql import rebuild_sql

            events, written = rebuild_sql(connection)
            written["month_active"] = active.rebuild(connection)
            connection.execute(delete(cast(Table, RollupPending.__table__)))
            return RebuildReport(events=events, rows=written)
        events, summer = _sum_events(connection, chunk)
        counts: dict[str, int] = {}
        for spec in SPECS:
            table = TABLES[spec.name]
            connection.execute(delete(table))
            counts[spec.name] = _insert_rows(connection, spec, summer.rows(spec))
        counts["month_active"] = active.rebuild(connection)
        # The sums are of the events as they are now: nothing is owed any more.
        connection.execute(delete(cast(Table, RollupPending.__table__)))
    return RebuildReport(events=events, rows=counts)


def stored(connection: Connection, spec: RollupSpec) -> dict[Key, tuple[int, ...]]:
    """The non-zero rows of one rollup table as stored."""
    table: Table = TABLES[spec.name]
    key_columns = [table.c.period, *(table.c[name] for name in spec.columns)]
    counter_columns = [table.c[name] for name in spec.counters]
    result = {}
    for row in connection.execute(select(*key_columns, *counter_columns)):
        values = tuple(int(v) for v in row[len(key_columns) :])
        if any(values):
            result[tuple(row[: len(key_columns)])] = values
    return result


def compare(connection: Connection) -> dict[str, list[str]]:
    """Where the stored rollups differ from the sums over the events: table → differences."""
    expected = compute(connection)
    differences: dict[str, list[str]] = {}
    for spec in SPECS:
        want = expected[spec.name]
        have = stored(connection, spec)
        problems = [
            f"{key}: stored {_nonzero(spec, have.get(key))}, "
            f"events give {_nonzero(spec, want.get(key))}"
            for key in sorted(set(want) | set(have), key=repr)
            if want.get(key) != have.get(key)
        ]
        if problems:
            differences[spec.name] = problems
    # The active reporters' counts, from the reporter rows the events give.
    want_active: dict[active.Cell, set[int]] = {}
    new = SPEC_BY_NAME["month_reporter"].counters.index("new")
    for (period, reporter, source, _, district), values in expected["month_reporter"].items():
        if values[new] > 0:
            want_active.setdefault((period, district, source), set()).add(reporter)
    counted = {cell: len(reporters) for cell, reporters in want_active.items()}
    have_active = active.stored(connection)
    problems = [
        f"{cell}: stored {have_active.get(cell, 0)}, events give {counted.get(cell, 0)}"
        for cell in sorted(set(counted) | set(have_active))
        if counted.get(cell, 0) != have_active.get(cell, 0)
    ]
    if problems:
        differences["month_active"] = problems
    return differences


def _nonzero(spec: RollupSpec, values: Iterable[int] | None) -> dict[str, int]:
    if values is None:
        return {}
    return {name: v for name, v in zip(spec.counters, values, strict=True) if v}


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows of each rollup table (for `fengqiao analytics status` and the benchmarks)."""
    from sqlalchemy import func

    return {
        spec.name: int(
            connection.execute(select(func.count()).select_from(TABLES[spec.name])).scalar_one()
        )
        for spec in SPECS
    }

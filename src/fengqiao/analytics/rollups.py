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
from typing import Any, cast

from sqlalchemy import Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from fengqiao.analytics.facts import (
    COUNTERS,
    STATE_COLUMNS,
    EventState,
    day_number,
    dimension,
    entries,
    month_number,
)
from fengqiao.analytics.models import SPECS, TABLES, RollupSpec
from fengqiao.db import Database
from fengqiao.events.models import Event

Key = tuple[Any, ...]
Sums = dict[int, int]  # counter index → value, zeros left out
Rows = dict[str, dict[Key, Sums]]  # rollup name → key → sums
WIDTH = len(COUNTERS)


def add_rows(rows: Rows, state: EventState, sign: int = 1) -> None:
    """Add (or with sign -1 take away) the rows one event in `state` contributes."""
    for entry in entries(state):
        day, month = day_number(entry.at), month_number(entry.at)
        for spec in SPECS:
            period = day if spec.grain == "day" else month
            key = (period, *(dimension(state, name, entry.at) for name in spec.columns))
            sums = rows.setdefault(spec.name, {}).setdefault(key, {})
            for index, value in entry.values:
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
    for name in list(rows):
        changed = {key: sums for key, sums in rows[name].items() if any(sums.values())}
        if changed:
            rows[name] = changed
        else:
            del rows[name]
    return rows


class _Upserts:
    """The add-to-counters upsert of each rollup table, built once per dialect."""

    def __init__(self, dialect: str) -> None:
        self.statements = {}
        make = postgresql.insert if dialect == "postgresql" else sqlite.insert
        for spec in SPECS:
            table = TABLES[spec.name]
            statement = make(table)
            self.statements[spec.name] = statement.on_conflict_do_update(
                index_elements=["period", *spec.dims],
                set_={name: table.c[name] + statement.excluded[name] for name in COUNTERS},
            )


_UPSERTS: dict[str, _Upserts] = {}


def _upserts(connection: Connection) -> _Upserts:
    dialect = connection.dialect.name
    upserts = _UPSERTS.get(dialect)
    if upserts is None:
        upserts = _UPSERTS[dialect] = _Upserts(dialect)
    return upserts


def _parameters(spec: RollupSpec, key: Key, sums: Sums) -> dict[str, Any]:
    values = dict(zip(("period", *spec.columns), key, strict=True))
    values.update({name: sums.get(i, 0) for i, name in enumerate(COUNTERS)})
    return values


def apply(db: Session, rows: Rows) -> int:
    """Upsert the rows (added to what is stored); the number of rows written."""
    if not rows:
        return 0
    connection = db.connection()
    upserts = _upserts(connection)
    written = 0
    for spec in SPECS:  # a fixed order of tables and keys: no lock cycles between writers
        changed = rows.get(spec.name)
        if not changed:
            continue
        parameters = [_parameters(spec, key, changed[key]) for key in sorted(changed)]
        connection.execute(upserts.statements[spec.name], parameters)
        written += len(parameters)
    return written


def record_change(db: Session, before: EventState | None, after: EventState | None) -> int:
    """Move the rollups by one event's change; call it in the transaction that makes it."""
    return apply(db, delta(before, after))


# --- from scratch ------------------------------------------------------------------------


def _event_states(connection: Connection, chunk: int) -> Iterator[list[EventState]]:
    table = cast(Table, Event.__table__)
    columns = [table.c[name] for name in STATE_COLUMNS]
    last = 0
    while True:
        batch = connection.execute(
            select(table.c.id, *columns).where(table.c.id > last).order_by(table.c.id).limit(chunk)
        ).all()
        if not batch:
            return
        last = batch[-1][0]
        yield [EventState(*row[1:]) for row in batch]


def compute(connection: Connection, *, chunk: int = 20000) -> Rows:
    """Every rollup row, summed over the events table (nothing is written)."""
    rows: Rows = {}
    for states in _event_states(connection, chunk):
        for state in states:
            add_rows(rows, state)
    return rows


@dataclass(frozen=True)
class RebuildReport:
    events: int
    rows: dict[str, int]


def rebuild(database: Database, *, chunk: int = 20000) -> RebuildReport:
    """Replace every rollup row with the sums over the events, in one transaction."""
    with database.transaction() as db:
        connection = db.connection()
        events = 0
        rows: Rows = {}
        for states in _event_states(connection, chunk):
            events += len(states)
            for state in states:
                add_rows(rows, state)
        counts: dict[str, int] = {}
        for spec in SPECS:
            table = TABLES[spec.name]
            connection.execute(delete(table))
            stored = [
                _parameters(spec, key, sums)
                for key, sums in sorted(rows.get(spec.name, {}).items())
                if any(sums.values())
            ]
            for start in range(0, len(stored), 5000):
                connection.execute(table.insert(), stored[start : start + 5000])
            counts[spec.name] = len(stored)
    return RebuildReport(events=events, rows=counts)


def stored(connection: Connection, spec: RollupSpec) -> dict[Key, tuple[int, ...]]:
    """The non-zero rows of one rollup table as stored."""
    table: Table = TABLES[spec.name]
    key_columns = [table.c.period, *(table.c[name] for name in spec.columns)]
    counter_columns = [table.c[name] for name in COUNTERS]
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
        want = {
            key: tuple(sums.get(i, 0) for i in range(WIDTH))
            for key, sums in expected.get(spec.name, {}).items()
            if any(sums.values())
        }
        have = stored(connection, spec)
        problems = [
            f"{key}: stored {_nonzero(have.get(key))}, events give {_nonzero(want.get(key))}"
            for key in sorted(set(want) | set(have), key=repr)
            if want.get(key) != have.get(key)
        ]
        if problems:
            differences[spec.name] = problems
    return differences


def _nonzero(values: Iterable[int] | None) -> dict[str, int]:
    if values is None:
        return {}
    return {name: v for name, v in zip(COUNTERS, values, strict=True) if v}


def row_counts(connection: Connection) -> dict[str, int]:
    """Rows of each rollup table (for `fengqiao analytics status` and the benchmarks)."""
    from sqlalchemy import func

    return {
        spec.name: int(
            connection.execute(select(func.count()).select_from(TABLES[spec.name])).scalar_one()
        )
        for spec in SPECS
    }

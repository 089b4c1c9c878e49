"""The rollup rebuild as SQL on PostgreSQL: `INSERT … SELECT … GROUP BY` per table.

The same sums `rollups.rebuild` computes in Python (facts.entries per event, added up with
numpy), written as one statement per rollup table over a view of the entries: an event's cohort
entry on its local filing day and, once closed, its flow entry on its local closing day, each
counter a CASE of the same conditions as `facts.entries`. A province's year of events never
leaves the server: no rows are read into Python, none are sent back.

tests/analytics/test_rollups_sql.py compares the rows with the Python rebuild's on a seeded
district. SQLite keeps the Python rebuild (a district's year takes seconds there, and SQLite has
no time zones to compute local days with).
"""

from __future__ import annotations

from sqlalchemy import Connection, Integer

from fengqiao.analytics.facts import COHORT_COUNTERS, COUNTERS, DURATION_BUCKETS, OPEN
from fengqiao.analytics.models import DIMENSION_TYPES, SPECS, RollupSpec
from fengqiao.clock import LOCAL_TZ


def _quoted(values: object) -> str:
    return ", ".join(f"'{v}'" for v in sorted(values))  # type: ignore[call-overload]


# facts._seconds: filing → closing minus paused time, rounded half to even as Python's round()
# (float8 round() is rint()), never below 0.
_SECONDS = (
    "GREATEST(0, round((extract(epoch FROM e.closed_at - e.created_at)::float8"
    " - COALESCE(e.paused_seconds, 0))))::bigint"
)
_ON_TIME = "(e.due_at IS NULL OR e.closed_at <= e.due_at)"
_CLOSED = "e.status = 'closed'"


def _cohort() -> dict[str, str]:
    """Each cohort counter's value for one event, as facts.entries sets it."""
    is_open = f"e.status IN ({_quoted(OPEN)})"
    counters = {
        "new": "1",
        "accepted": "CASE WHEN e.accepted_at IS NOT NULL THEN 1 ELSE 0 END",
        "dispatched": "CASE WHEN e.dispatched_at IS NOT NULL THEN 1 ELSE 0 END",
        "handled": "CASE WHEN e.handled_at IS NOT NULL"
        " OR e.status IN ('handled', 'self_handled', 'closed') THEN 1 ELSE 0 END",
        "closed": f"CASE WHEN {_CLOSED} THEN 1 ELSE 0 END",
        "closed_on_time": f"CASE WHEN {_CLOSED} AND {_ON_TIME} THEN 1 ELSE 0 END",
        "overdue": "CASE WHEN e.overdue_at IS NOT NULL THEN 1 ELSE 0 END",
        "open": f"CASE WHEN {is_open} THEN 1 ELSE 0 END",
        "open_overdue": f"CASE WHEN {is_open} AND e.overdue_at IS NOT NULL THEN 1 ELSE 0 END",
        "rejected": "CASE WHEN e.status = 'rejected' THEN 1 ELSE 0 END",
        "voided": "CASE WHEN e.status = 'voided' THEN 1 ELSE 0 END",
        "merged": "CASE WHEN e.status = 'merged' THEN 1 ELSE 0 END",
        "self_handled": "CASE WHEN e.status = 'self_handled' OR (e.status = 'closed'"
        " AND e.dispatched_at IS NULL AND e.accepted_at IS NOT NULL) THEN 1 ELSE 0 END",
        "returned": "COALESCE(e.return_count, 0)",
        "reworked": "COALESCE(e.rework_count, 0)",
        "returned_events": "CASE WHEN COALESCE(e.return_count, 0) <> 0 THEN 1 ELSE 0 END",
        "reworked_events": "CASE WHEN COALESCE(e.rework_count, 0) <> 0 THEN 1 ELSE 0 END",
        "handle_seconds": f"CASE WHEN {_CLOSED} THEN {_SECONDS} ELSE 0 END",
        "rated": f"CASE WHEN {_CLOSED} AND COALESCE(e.satisfaction, 0) <> 0 THEN 1 ELSE 0 END",
        "satisfaction_sum": f"CASE WHEN {_CLOSED} THEN COALESCE(e.satisfaction, 0) ELSE 0 END",
    }
    for score in range(1, 6):
        counters[f"sat_{score}"] = (
            f"CASE WHEN {_CLOSED} AND e.satisfaction = {score} THEN 1 ELSE 0 END"
        )
    assert tuple(counters) == COHORT_COUNTERS
    return counters


def _flow() -> dict[str, str]:
    """Each flow counter's value for a closed event (the closing day's entry)."""
    counters = {"done": "1", "done_on_time": f"CASE WHEN {_ON_TIME} THEN 1 ELSE 0 END"}
    counters["done_seconds"] = _SECONDS
    lower = None
    for bucket, limit in DURATION_BUCKETS:
        above = f"{_SECONDS} > {lower}" if lower is not None else "TRUE"
        below = f"{_SECONDS} <= {limit}" if limit is not None else "TRUE"
        counters[bucket] = f"CASE WHEN {above} AND {below} THEN 1 ELSE 0 END"
        lower = limit
    return counters


def _dimension(name: str) -> str:
    # facts.dimension: a missing value is stored as 0 ('' for text columns, never met in practice).
    blank = "0" if DIMENSION_TYPES[name] is Integer else "''"
    return f"COALESCE(e.{name}, {blank})"


def entries_sql() -> str:
    """A SELECT of every entry of every event: local period keys, dimensions, the 33 counters."""
    zone = LOCAL_TZ.key
    dims = sorted({n for spec in SPECS for n in spec.columns} - {"how"})
    cohort, flow = _cohort(), _flow()

    def branch(at: str, values: dict[str, str], where: str) -> str:
        local = f"({at} AT TIME ZONE '{zone}')"
        columns = [
            f"to_char({local}, 'YYYYMMDD')::int AS day",
            f"to_char({local}, 'YYYYMM')::int AS month",
            f"((extract(isodow FROM {local})::int - 1) * 24"
            f" + extract(hour FROM {local})::int) AS how",
            *(f"{_dimension(n)} AS {n}" for n in dims),
            *(f"{values.get(c, '0')}::int AS {c}" for c in COUNTERS),
        ]
        return f"SELECT {', '.join(columns)} FROM event e{where}"

    return (
        f"{branch('e.created_at', cohort, '')}\nUNION ALL\n"
        f"{branch('e.closed_at', flow, f' WHERE {_CLOSED}')}"
    )


def insert_sql(spec: RollupSpec) -> str:
    """One rollup table's rows from the entries (a day table's district is its town's parent)."""
    period = spec.grain
    kept = spec.counters
    key = [period, *spec.dims]
    derived = [f"min({n})" for n in spec.derived]
    sums = [f"sum({c})" for c in kept]
    # An entry adds a row only if it adds to a counter the table keeps; zero sums are left out.
    useful = " OR ".join(f"{c} <> 0" for c in kept)
    nonzero = " OR ".join(f"sum({c}) <> 0" for c in kept)
    names = ["period", *spec.dims, *spec.derived, *kept]
    select = (
        f"SELECT {', '.join([*key, *derived, *sums])} FROM entries WHERE {useful} "
        f"GROUP BY {', '.join(key)} HAVING {nonzero}"
    )
    if spec.grain == "day" and not spec.by_district:
        outer = ", ".join(f"r.{n}" for n in ["k0", *[f"k{i}" for i in range(1, len(names))]])
        aliased = ", ".join(f"{part} AS k{i}" for i, part in enumerate([*key, *derived, *sums]))
        select = (
            f"SELECT {outer}, o.parent_id FROM (SELECT {aliased} FROM entries WHERE {useful} "
            f"GROUP BY {', '.join(key)} HAVING {nonzero}) r "
            f"LEFT JOIN org_unit o ON o.id = r.k1"
        )
        names.append("district_id")
    return f"INSERT INTO {spec.table_name} ({', '.join(names)}) {select}"


def rebuild_sql(connection: Connection) -> tuple[int, dict[str, int]]:
    """Replace every rollup row, in the caller's transaction: (events, rows per rollup)."""
    assert connection.dialect.name == "postgresql"
    # The GROUP BYs of a province's year sort millions of entries: in memory, not on disk.
    connection.exec_driver_sql("SET LOCAL work_mem = '256MB'")
    # Materialised once: 13 tables read it; ~2 rows per event, narrow.
    connection.exec_driver_sql("DROP TABLE IF EXISTS pg_temp.entries")
    connection.exec_driver_sql(f"CREATE TEMPORARY TABLE entries ON COMMIT DROP AS {entries_sql()}")
    events = int(connection.exec_driver_sql("SELECT count(*) FROM event").scalar_one())
    counts: dict[str, int] = {}
    for spec in SPECS:
        connection.exec_driver_sql(f"DELETE FROM {spec.table_name}")
        counts[spec.name] = connection.exec_driver_sql(insert_sql(spec)).rowcount
    return events, counts

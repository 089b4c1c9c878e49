"""district-keyed rollups for a district and the areas above it (issue 21, the province's charts)

Seven rollup tables keyed by the event's district instead of its town (`rollup_day_district`,
`rollup_month_district`, `_major`, `_level_source`, `_how`, `_unit`, `_class`): a city's or a
province's chart reads about fifteen times fewer rows. Each is filled from its town-keyed twin
(the same dimensions with the town, summed over the district's towns: exact, since a town has
one district), so an upgraded database needs no rebuild. The rollup queue's stored states gain
the event's district (the last field of `events.changes.EventState`).

`rollup_month_reporter` gains its town's district (a derived column, indexed with the period),
and `rollup_month_active` counts the distinct reporters with a report per (month, district,
source) from it (analytics/active.py).

Revision ID: 0043_district_rollups
Revises: 0042_regions
Create Date: 2026-12-06 13:00:00.000000
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043_district_rollups"
down_revision: str | None = "0042_regions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = (
    "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue", "open",
    "open_overdue", "rejected", "voided", "merged", "self_handled", "returned", "reworked",
    "returned_events", "reworked_events", "handle_seconds", "rated", "satisfaction_sum", "sat_1",
    "sat_2", "sat_3", "sat_4", "sat_5", "done", "done_on_time", "done_seconds", "done_h4",
    "done_d1", "done_d3", "done_d7", "done_more",
)  # fmt: skip
UNIT_COUNTERS = (
    "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue", "rejected",
    "voided", "merged", "self_handled", "returned_events", "reworked_events", "handle_seconds",
    "rated", "satisfaction_sum",
)  # fmt: skip
TYPES = {
    "category_code": sa.String(length=8),
    "major_code": sa.String(length=8),
    "platform": sa.String(length=16),
    "source": sa.String(length=16),
}
# name: (key dimensions after the period and the district, derived columns, counters kept,
# the town-keyed table it is summed from)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], str]] = {
    "day_district": ((), (), COUNTERS, "day_town"),
    "month_district": ((), (), COUNTERS, "month_level_source"),
    "month_district_major": (("major_code",), ("platform",), COUNTERS, "month_major"),
    "month_district_level_source": (("level", "source"), (), COUNTERS, "month_level_source"),
    "month_district_how": (("how",), (), ("new",), "month_how"),
    "month_district_unit": (("owner_unit_id",), (), UNIT_COUNTERS, "month_unit"),
    "month_district_class": (
        ("category_code",), ("major_code", "platform"), COUNTERS, "month_class"
    ),
}  # fmt: skip
STATE_WIDTH = (
    23  # fields of a queued state from this revision on (one fewer before); the town is the third
)


def upgrade() -> None:
    bind = op.get_bind()
    for name, (dims, derived, counters, twin) in TABLES.items():
        table = f"rollup_{name}"
        op.create_table(
            table,
            sa.Column("period", sa.Integer(), nullable=False),
            sa.Column("district_id", sa.Integer(), nullable=False),
            *(sa.Column(c, TYPES.get(c, sa.Integer()), nullable=False) for c in dims + derived),
            *(sa.Column(c, sa.BigInteger(), nullable=False) for c in counters),
            sa.PrimaryKeyConstraint("period", "district_id", *dims, name=f"pk_{table}"),
            sqlite_with_rowid=False,
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_district_period", ["district_id", "period"])
        key = ["period", *dims]
        columns = ["period", "district_id", *dims, *derived, *counters]
        chosen = [
            *(f"r.{c}" for c in key[:1]),
            "COALESCE(o.parent_id, 0)",
            *(f"r.{c}" for c in key[1:]),
            *(f"min(r.{c})" for c in derived),
            *(f"sum(r.{c})" for c in counters),
        ]
        groups = ["r.period", "COALESCE(o.parent_id, 0)", *(f"r.{c}" for c in dims)]
        bind.exec_driver_sql(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(chosen)} "
            f"FROM rollup_{twin} r LEFT JOIN org_unit o ON o.id = r.town_id "
            f"GROUP BY {', '.join(groups)} "
            f"HAVING {' OR '.join(f'sum(r.{c}) <> 0' for c in counters)}"
        )
    op.add_column(
        "rollup_month_reporter",
        sa.Column("district_id", sa.Integer(), nullable=False, server_default="0"),
    )
    bind.exec_driver_sql(
        "UPDATE rollup_month_reporter SET district_id = COALESCE("
        "(SELECT parent_id FROM org_unit WHERE org_unit.id = rollup_month_reporter.town_id), 0)"
    )
    op.create_index(
        "ix_rollup_month_reporter_district_period",
        "rollup_month_reporter",
        ["district_id", "period"],
    )
    op.create_table(
        "rollup_month_active",
        sa.Column("period", sa.Integer(), nullable=False),
        sa.Column("district_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("reporters", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("period", "district_id", "source", name="pk_rollup_month_active"),
        sqlite_with_rowid=False,
    )
    bind.exec_driver_sql(
        "INSERT INTO rollup_month_active (period, district_id, source, reporters) "
        "SELECT period, district_id, source, count(DISTINCT reporter_id) "
        "FROM rollup_month_reporter WHERE new > 0 GROUP BY period, district_id, source"
    )
    _queued_states(bind, add=True)


def _queued_states(bind: sa.Connection, *, add: bool) -> None:
    """The rollup queue's `before` states with the event's district appended (or taken off)."""
    parents: dict[int, int | None] = dict(
        bind.exec_driver_sql("SELECT id, parent_id FROM org_unit WHERE kind = 'town'").all()
    )
    rows = bind.exec_driver_sql(
        "SELECT event_id, before FROM rollup_pending WHERE before IS NOT NULL"
    ).all()
    changed = []
    for event_id, text in rows:
        values = json.loads(text)
        if add and len(values) == STATE_WIDTH - 1:
            values.append(parents.get(values[2]))
        elif not add and len(values) == STATE_WIDTH:
            values.pop()
        else:
            continue
        changed.append({"before": json.dumps(values, ensure_ascii=False), "id": event_id})
    if changed:
        bind.execute(
            sa.text("UPDATE rollup_pending SET before = :before WHERE event_id = :id"), changed
        )


def downgrade() -> None:
    _queued_states(op.get_bind(), add=False)
    op.drop_table("rollup_month_active")
    op.drop_index("ix_rollup_month_reporter_district_period", "rollup_month_reporter")
    with op.batch_alter_table("rollup_month_reporter") as batch_op:
        batch_op.drop_column("district_id")
    for name in reversed(list(TABLES)):
        op.drop_table(f"rollup_{name}")

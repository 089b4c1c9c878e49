"""analytics: the rollup tables (one per time grain and set of dimensions) and their queue

Revision ID: 0006_analytics
Revises: 0005
Create Date: 2026-11-29 09:30:00.000000

The tables are written out from data frozen at this revision (not from the live models), so
later changes to the rollups come with their own migration.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0006_analytics"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COUNTERS = [
    "new",
    "accepted",
    "dispatched",
    "handled",
    "closed",
    "closed_on_time",
    "overdue",
    "open",
    "open_overdue",
    "rejected",
    "voided",
    "merged",
    "self_handled",
    "returned",
    "reworked",
    "returned_events",
    "reworked_events",
    "handle_seconds",
    "rated",
    "satisfaction_sum",
    "sat_1",
    "sat_2",
    "sat_3",
    "sat_4",
    "sat_5",
    "done",
    "done_on_time",
    "done_seconds",
    "done_h4",
    "done_d1",
    "done_d3",
    "done_d7",
    "done_more",
]
TYPES = {
    "category_code": sa.String(length=8),
    "major_code": sa.String(length=8),
    "platform": sa.String(length=16),
    "source": sa.String(length=16),
}
# name: (key dimensions after the period, derived columns)
TABLES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "day_town": (("town_id",), ()),
    "day_level_source": (("town_id", "level", "source"), ()),
    "day_unit": (("town_id", "owner_unit_id"), ()),
    "day_major": (("town_id", "major_code"), ("platform",)),
    "day_class": (("town_id", "category_code"), ("major_code", "platform")),
    "month_major": (("town_id", "major_code"), ("platform",)),
    "month_level_source": (("town_id", "level", "source"), ()),
    "month_unit": (("town_id", "owner_unit_id"), ()),
    "month_class": (("town_id", "category_code"), ("major_code", "platform")),
    "month_how": (("town_id", "how"), ()),
    "month_village": (("town_id", "village_id", "major_code"), ("platform",)),
    "month_grid": (("town_id", "village_id", "grid_id"), ()),
    "month_reporter": (("reporter_id", "source", "town_id"), ()),
}


# Tables that keep only some counters (the rest keep all of COUNTERS).
KEPT = {
    "month_how": ("new",),
    "month_grid": ("new", "closed", "overdue", "open", "open_overdue"),
    "month_reporter": (
        "new", "accepted", "dispatched", "handled", "closed", "closed_on_time", "overdue",
        "rejected", "voided", "merged", "self_handled", "returned_events", "reworked_events",
        "handle_seconds", "rated", "satisfaction_sum",
    ),
}  # fmt: skip


def upgrade() -> None:
    for name, (dims, derived) in TABLES.items():
        table = f"rollup_{name}"
        op.create_table(
            table,
            sa.Column("period", sa.Integer(), nullable=False),
            *(sa.Column(c, TYPES.get(c, sa.Integer()), nullable=False) for c in dims + derived),
            *(sa.Column(c, sa.BigInteger(), nullable=False) for c in KEPT.get(name, COUNTERS)),
            sa.PrimaryKeyConstraint("period", *dims, name=f"pk_{table}"),
            sqlite_with_rowid=False,
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(f"ix_{table}_town_period", ["town_id", "period"], unique=False)

    op.create_table(
        "rollup_pending",
        sa.Column("event_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("queued_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_rollup_pending")),
    )


def downgrade() -> None:
    op.drop_table("rollup_pending")
    for name in reversed(list(TABLES)):
        op.drop_table(f"rollup_{name}")

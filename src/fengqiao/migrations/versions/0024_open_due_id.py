"""PostgreSQL: the open deadlines with the id, for the district's urgency order

The event list's urgency order (红黄绿灯) reads the open events by deadline. On PostgreSQL the
partial index of open deadlines has no id after `due_at`, so a page sorted every open event it
read: descending, every open event whose deadline lies ahead (19.65 ms at the bare limit at
1.1 M events, docs/benchmarks.md). With the id, a page walks the index in order and stops after
it. SQLite keeps its own plan (the index there would draw the sweeper's overdue probe away from
its smaller overdue-pending index), so this revision does nothing on SQLite.

Revision ID: 0024_open_due_id
Revises: 0023_followups
Create Date: 2026-12-05 18:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0024_open_due_id"
down_revision: str | None = "0023_followups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not read from the models: a migration stays what it was when it shipped.
OPEN_STATES = (
    "status IN ('reported', 'accepted', 'dispatched', 'signed', 'handled', 'self_handled', "
    "'suspended')"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.create_index(
        "ix_event_open_due_id", "event", ["due_at", "id"], unique=False,
        postgresql_where=sa.text(OPEN_STATES),
    )  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.drop_index("ix_event_open_due_id", table_name="event")

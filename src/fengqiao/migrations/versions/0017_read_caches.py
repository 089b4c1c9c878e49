"""reads that hold: an index on event.closed_at for the command room (issue 15, item 7)

The situation's "closed today" and the event layer's closed-today points are a range on
`closed_at`; without an index SQLite walked the whole events table for them (64 ms at 100,000
events, on every read of the panel). The read caches themselves need no table: they compare the
newest trail row and the existing change counters.

Revision ID: 0017_read_caches
Revises: 0016_outbox_leases
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017_read_caches"
down_revision: str | None = "0016_outbox_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_closed_at", "event", ["closed_at"])
    # A handler reads their unit's events and those they took a step on (events/scope.py).
    op.create_index("ix_event_log_actor_event", "event_log", ["actor_id", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_event_log_actor_event", table_name="event_log")
    op.drop_index("ix_event_closed_at", table_name="event")

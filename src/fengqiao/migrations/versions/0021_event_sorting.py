"""the event center's sortable columns: an index per sort key, for the district and for a town

Every sortable column of the event list (class, status, owner unit, town, deadline) is read in
the order of (key, id) by a keyset cursor; these indexes let the first page (and each next one)
walk an index in order and stop after the page, for a district operator (no area condition)
and for a town operator (`town_id = ?` first). Filing time already had both
(`ix_event_created`, `ix_event_town_created`); the urgency order reads the open-deadline
partial indexes as they are (adding the id to them made SQLite's planner prefer them over the
sweeper's smaller overdue-pending index; PostgreSQL sorts the few open rows it reads instead).

Revision ID: 0021_event_sorting
Revises: 0020_alarms
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0021_event_sorting"
down_revision: str | None = "0020_alarms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Written out here, not read from the models: a migration stays what it was when it shipped.
INDEXES: tuple[tuple[str, list[str]], ...] = (
    ("ix_event_sort_category", ["category_code", "id"]),
    ("ix_event_sort_status", ["status", "id"]),
    ("ix_event_sort_unit", ["owner_unit_id", "id"]),
    ("ix_event_sort_town", ["town_id", "id"]),
    ("ix_event_sort_due", ["due_at", "id"]),
    ("ix_event_town_sort_category", ["town_id", "category_code", "id"]),
    ("ix_event_town_sort_status", ["town_id", "status", "id"]),
    ("ix_event_town_sort_unit", ["town_id", "owner_unit_id", "id"]),
    ("ix_event_town_sort_due", ["town_id", "due_at", "id"]),
)


def upgrade() -> None:
    for name, columns in INDEXES:
        op.create_index(name, "event", columns, unique=False)


def downgrade() -> None:
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="event")

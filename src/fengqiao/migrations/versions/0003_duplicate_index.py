"""likely duplicates: open events by class and latitude

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 17:45:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN = (
    "status IN ('reported', 'accepted', 'dispatched', 'signed', 'handled', 'self_handled', "
    "'suspended')"
)


def upgrade() -> None:
    op.create_index(
        "ix_event_open_category_lat",
        "event",
        ["category_code", "lat"],
        unique=False,
        sqlite_where=sa.text(OPEN),
        postgresql_where=sa.text(OPEN),
    )


def downgrade() -> None:
    op.drop_index("ix_event_open_category_lat", table_name="event")

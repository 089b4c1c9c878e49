"""warnings that climb: follow-ups of an unacknowledged early warning (issue 17, item 5)

An early warning not acknowledged (签收) is reminded after `FENGQIAO_WARNING_REMIND_DAYS` and
climbs to the district after `FENGQIAO_WARNING_CLIMB_DAYS`: the `warning` table gets the
`warning_followups` job's stored due times (`remind_at`, `climb_at`, each indexed and cleared
once done), when each was done (`reminded_at`, `climbed_at`), the level that has the warning now
(`level`: town, or district once it climbed; a warning about a unit with no town starts at the
district) and its `history` ({"at", "step", "told"} rows).

Warnings stored before this revision get no due times: an upgrade never sends a burst of
reminders about old warnings.

Revision ID: 0023_followups
Revises: 0022_bulletin_numbers
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0023_followups"
down_revision: str | None = "0022_bulletin_numbers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("warning") as batch:
        batch.add_column(
            sa.Column("level", sa.String(length=16), server_default="town", nullable=False)
        )
        for name in ("remind_at", "climb_at", "reminded_at", "climbed_at"):
            batch.add_column(sa.Column(name, fengqiao.db.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(
            sa.Column("history", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
        )
        batch.create_index("ix_warning_remind_at", ["remind_at"])
        batch.create_index("ix_warning_climb_at", ["climb_at"])
    op.execute("UPDATE warning SET level = 'district' WHERE town_id IS NULL")


def downgrade() -> None:
    with op.batch_alter_table("warning") as batch:
        batch.drop_index("ix_warning_climb_at")
        batch.drop_index("ix_warning_remind_at")
        for name in ("history", "climbed_at", "reminded_at", "climb_at", "remind_at", "level"):
            batch.drop_column(name)

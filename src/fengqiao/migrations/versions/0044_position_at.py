"""positions by time: the one-map's live layer asks only the workers seen in its window

`GET /positions/latest` (the map's grid workers, every 30 s) and the nearest workers on an
event's card probed the (user_id, at) index once per grid worker in the caller's scope: at a
province's 340,000 workers that is seconds even when nobody is on duty. An index on `at` gives
the workers with a position in the window first (a short range at the index's right edge, where
PostgreSQL also reads the true end of the column for its estimate), so only they are probed.
On PostgreSQL the index is made on the partitioned `position` and so on every month.

Revision ID: 0044_position_at
Revises: 0043_district_rollups
Create Date: 2026-12-06 16:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0044_position_at"
down_revision: str | None = "0043_district_rollups"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_position_at", "position", ["at"])


def downgrade() -> None:
    op.drop_index("ix_position_at", table_name="position")

"""reads that hold: indexes and rollups for the command room (issue 15, item 7)

Revision ID: 0017_read_caches
Revises: 0016_outbox_leases
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0017_read_caches"
down_revision: str | None = "0016_outbox_leases"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

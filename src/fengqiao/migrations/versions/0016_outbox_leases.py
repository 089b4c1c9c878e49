"""outbox: per-message claims, renewed leases and fencing (issue 15, item 9)

Revision ID: 0016_outbox_leases
Revises: 0015_access_log
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0016_outbox_leases"
down_revision: str | None = "0015_access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

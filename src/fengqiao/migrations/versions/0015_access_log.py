"""access log of unmasked personal data (issue 15, item 8)

Revision ID: 0015_access_log
Revises: 0014_sessions
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0015_access_log"
down_revision: str | None = "0014_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

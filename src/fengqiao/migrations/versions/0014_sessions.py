"""sessions: revocable tokens, login failures and lockouts (issue 15, item 5)

Revision ID: 0014_sessions
Revises: 0013_intake
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0014_sessions"
down_revision: str | None = "0013_intake"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

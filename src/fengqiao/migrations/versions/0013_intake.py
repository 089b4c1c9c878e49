"""intake: business modules as intake presets

Revision ID: 0013_intake
Revises: 0012_services
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0013_intake"
down_revision: str | None = "0012_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

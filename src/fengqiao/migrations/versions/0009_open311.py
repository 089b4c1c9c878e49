"""open311: requests from residents' apps (GeoReport v2)

Revision ID: 0009_open311
Revises: 0008_assessment
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0009_open311"
down_revision: str | None = "0008_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

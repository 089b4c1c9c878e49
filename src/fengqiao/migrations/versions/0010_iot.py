"""iot: device registry, alarm inbox and folding

Revision ID: 0010_iot
Revises: 0009_open311
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0010_iot"
down_revision: str | None = "0009_open311"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

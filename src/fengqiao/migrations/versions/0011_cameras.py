"""cameras: the camera registry

Revision ID: 0011_cameras
Revises: 0010_iot
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0011_cameras"
down_revision: str | None = "0010_iot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

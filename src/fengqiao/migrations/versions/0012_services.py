"""services: the service catalogue and proxy requests

Revision ID: 0012_services
Revises: 0011_cameras
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

revision: str = "0012_services"
down_revision: str | None = "0011_cameras"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass

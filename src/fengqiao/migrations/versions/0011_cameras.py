"""cameras: the camera registry

Revision ID: 0011_cameras
Revises: 0010_iot
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0011_cameras"
down_revision: str | None = "0010_iot"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "camera",
        sa.Column("feature_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_seen_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["layer_feature.id"],
            name=op.f("fk_camera_feature_id_layer_feature"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("feature_id", name=op.f("pk_camera")),
    )
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.create_index("ix_camera_status", ["status"], unique=False)
    # Cameras stored before the registry had no status: offline until the platform reports.
    op.execute(
        "INSERT INTO camera (feature_id, status, updated_at) "
        "SELECT id, 'offline', CURRENT_TIMESTAMP FROM layer_feature WHERE kind = 'camera'"
    )


def downgrade() -> None:
    with op.batch_alter_table("camera", schema=None) as batch_op:
        batch_op.drop_index("ix_camera_status")
    op.drop_table("camera")

"""patrol: positions, patrols, the nearest-camera index

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-29 05:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PATROL_OPEN_SQL = "ended_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "patrol",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("home_path", sa.String(length=255), nullable=False),
        sa.Column("started_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("distance_m", sa.Float(), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=False),
        sa.Column("points", sa.Integer(), nullable=False),
        sa.Column("grids", sa.JSON(), nullable=False),
        sa.Column("first_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_lat", sa.Float(), nullable=True),
        sa.Column("last_lng", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_patrol_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patrol")),
    )
    with op.batch_alter_table("patrol", schema=None) as batch_op:
        batch_op.create_index("ix_patrol_user_started", ["user_id", "started_at"], unique=False)
        batch_op.create_index("ix_patrol_started", ["started_at"], unique=False)
        batch_op.create_index(
            "ix_patrol_open_user",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text(PATROL_OPEN_SQL),
            postgresql_where=sa.text(PATROL_OPEN_SQL),
        )

    op.create_table(
        "position",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("accuracy", sa.Float(), nullable=True),
        sa.Column("speed", sa.Float(), nullable=True),
        sa.Column("patrol_id", sa.Integer(), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_position_grid_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["patrol_id"], ["patrol.id"], name=op.f("fk_position_patrol_id_patrol")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_position_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_position")),
    )
    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.create_index("ix_position_user_at", ["user_id", "at"], unique=True)

    with op.batch_alter_table("layer_feature", schema=None) as batch_op:
        batch_op.create_index("ix_layer_feature_kind_lat", ["kind", "lat"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("layer_feature", schema=None) as batch_op:
        batch_op.drop_index("ix_layer_feature_kind_lat")

    with op.batch_alter_table("position", schema=None) as batch_op:
        batch_op.drop_index("ix_position_user_at")
    op.drop_table("position")

    with op.batch_alter_table("patrol", schema=None) as batch_op:
        batch_op.drop_index(
            "ix_patrol_open_user",
            sqlite_where=sa.text(PATROL_OPEN_SQL),
            postgresql_where=sa.text(PATROL_OPEN_SQL),
        )
        batch_op.drop_index("ix_patrol_started")
        batch_op.drop_index("ix_patrol_user_started")
    op.drop_table("patrol")

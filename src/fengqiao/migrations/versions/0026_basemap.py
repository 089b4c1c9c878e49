"""the base map an administrator sets, and the local vector base (issue 18, item 4)

`basemap_setting` holds one row (id 1) once an administrator sets the base map in 系统管理 · 底图:
Tianditu with a key, an XYZ template, a GCJ-02 XYZ template, or only the local base. Without a
row, FENGQIAO_BASEMAP_URL (if set) is the base. `base_feature` holds the local vector base's
roads, rivers and lakes (WGS-84 GeoJSON with a bounding box), written by the demo seed or an
import.

Revision ID: 0026_basemap
Revises: 0025_video_calls
Create Date: 2026-12-05 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0026_basemap"
down_revision: str | None = "0025_video_calls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "basemap_setting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(length=16), nullable=False),
        sa.Column("url_template", sa.String(length=500), nullable=True),
        sa.Column("api_key", sa.String(length=64), nullable=True),
        sa.Column("attribution", sa.String(length=200), nullable=True),
        sa.Column("max_zoom", sa.Integer(), nullable=False),
        sa.Column("subdomains", sa.String(length=16), nullable=True),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["updated_by"],
            ["user_account.id"],
            name=op.f("fk_basemap_setting_updated_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_basemap_setting")),
    )
    op.create_table(
        "base_feature",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("min_lng", sa.Float(), nullable=False),
        sa.Column("min_lat", sa.Float(), nullable=False),
        sa.Column("max_lng", sa.Float(), nullable=False),
        sa.Column("max_lat", sa.Float(), nullable=False),
        sa.Column("geometry", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_base_feature")),
    )
    op.create_index(
        "ix_base_feature_box", "base_feature", ["min_lng", "max_lng", "min_lat", "max_lat"]
    )


def downgrade() -> None:
    op.drop_index("ix_base_feature_box", table_name="base_feature")
    op.drop_table("base_feature")
    op.drop_table("basemap_setting")

"""a district's own settings for a shared class (issue 21, regions)

`class_override`: one row per (district, class) that the district changed: the class turned
off for its events, its owner unit type, its time limit in hours; None keeps the shared setting.

Revision ID: 0042_regions
Revises: 0041_perf
Create Date: 2026-12-06 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0042_regions"
down_revision: str | None = "0041_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "class_override",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("district_id", sa.Integer(), sa.ForeignKey("org_unit.id"), nullable=False),
        sa.Column("category_code", sa.String(16), sa.ForeignKey("category.code"), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("unit_type", sa.String(48), nullable=True),
        sa.Column("limit_hours", sa.Float(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("district_id", "category_code"),
    )
    op.create_index("ix_class_override_district_id", "class_override", ["district_id"])


def downgrade() -> None:
    op.drop_index("ix_class_override_district_id", table_name="class_override")
    op.drop_table("class_override")

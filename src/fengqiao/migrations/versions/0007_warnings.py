"""warnings: early warnings (预警) and the warnings job's watermark

Revision ID: 0007_warnings
Revises: 0006_analytics
Create Date: 2026-11-29 10:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0007_warnings"
down_revision: str | None = "0006_analytics"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "warning",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("village_id", sa.Integer(), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("category_code", sa.String(length=8), nullable=True),
        sa.Column("category_name", sa.String(length=64), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("window_start", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("window_end", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("observed", sa.Integer(), nullable=False),
        sa.Column("expected", sa.Float(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=160), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pushed_to", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_warning_org_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["org_unit.id"], name=op.f("fk_warning_town_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_warning_village_id_org_unit")
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_warning_unit_id_unit")),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["user_account.id"],
            name=op.f("fk_warning_acknowledged_by_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warning")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_warning_dedupe_key")),
    )
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.create_index("ix_warning_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_warning_condition", ["kind", "org_id", "category_code", "window_end"], unique=False
        )
        batch_op.create_index("ix_warning_town_created", ["town_id", "created_at"], unique=False)
        batch_op.create_index("ix_warning_unit_status", ["unit_id", "status"], unique=False)

    op.create_table(
        "warning_scan",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("scanned_until", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_warning_scan")),
    )


def downgrade() -> None:
    op.drop_table("warning_scan")
    with op.batch_alter_table("warning", schema=None) as batch_op:
        batch_op.drop_index("ix_warning_unit_status")
        batch_op.drop_index("ix_warning_town_created")
        batch_op.drop_index("ix_warning_condition")
        batch_op.drop_index("ix_warning_created")
    op.drop_table("warning")

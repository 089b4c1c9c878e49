"""assessment: daily bulletins and their subscriptions

Revision ID: 0008_assessment
Revises: 0007_warnings
Create Date: 2026-11-29 11:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0008_assessment"
down_revision: str | None = "0007_warnings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulletin",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("generated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("recipients", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_bulletin")),
    )
    op.create_table(
        "bulletin_subscription",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("channels", sa.JSON(), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_bulletin_subscription_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_bulletin_subscription")),
    )


def downgrade() -> None:
    op.drop_table("bulletin_subscription")
    op.drop_table("bulletin")

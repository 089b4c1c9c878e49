"""access log of unmasked personal data (issue 15, item 8)

One row per request and subject table that served phones or ID numbers whole (DESIGN §13), and
the request id on outbox rows so the worker's log lines name the request that queued a message.

Revision ID: 0015_access_log
Revises: 0014_sessions
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0015_access_log"
down_revision: str | None = "0014_sessions"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "personal_data_access",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=False),
        sa.Column("route", sa.String(length=200), nullable=False),
        sa.Column("subject_table", sa.String(length=32), nullable=False),
        sa.Column("subject_ids", sa.Text(), nullable=False),
        sa.Column("subject_count", sa.Integer(), nullable=False),
        sa.Column("fields", sa.String(length=200), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_personal_data_access")),
    )
    op.create_index("ix_personal_data_access_at", "personal_data_access", ["at"], unique=False)
    op.create_index(
        "ix_personal_data_access_user", "personal_data_access", ["user_id", "at"], unique=False
    )
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("request_id", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("request_id")
    op.drop_index("ix_personal_data_access_user", table_name="personal_data_access")
    op.drop_index("ix_personal_data_access_at", table_name="personal_data_access")
    op.drop_table("personal_data_access")

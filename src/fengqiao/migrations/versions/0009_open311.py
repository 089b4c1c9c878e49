"""open311: requests from residents' apps (GeoReport v2)

Revision ID: 0009_open311
Revises: 0008_assessment
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0009_open311"
down_revision: str | None = "0008_assessment"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "open311_request",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=32), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("service_code", sa.String(length=16), nullable=False),
        sa.Column("api_key_prefix", sa.String(length=16), nullable=False),
        sa.Column("media_url", sa.String(length=2000), nullable=True),
        sa.Column("jurisdiction_id", sa.String(length=64), nullable=True),
        sa.Column("email", sa.String(length=200), nullable=True),
        sa.Column("first_name", sa.String(length=100), nullable=True),
        sa.Column("last_name", sa.String(length=100), nullable=True),
        sa.Column("phone", sa.String(length=32), nullable=True),
        sa.Column("device_id", sa.String(length=200), nullable=True),
        sa.Column("account_id", sa.String(length=200), nullable=True),
        sa.Column("address_id", sa.String(length=200), nullable=True),
        sa.Column("address_string", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_open311_request_event_id_event")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_open311_request")),
        sa.UniqueConstraint("token", name=op.f("uq_open311_request_token")),
    )
    with op.batch_alter_table("open311_request", schema=None) as batch_op:
        batch_op.create_index(
            "ix_open311_request_created", ["created_at", "event_id"], unique=False
        )

    op.create_table(
        "open311_refusal",
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "reason", name=op.f("pk_open311_refusal")),
    )


def downgrade() -> None:
    op.drop_table("open311_refusal")
    with op.batch_alter_table("open311_request", schema=None) as batch_op:
        batch_op.drop_index("ix_open311_request_created")
    op.drop_table("open311_request")

"""video calls: each call from the command room to a phone (issue 18, item 2)

`video_call` holds one row per call that rang: caller, callee, the event it was placed from (if
any), when it started, was answered and ended, and how it ended. Calls refused before ringing
(out of scope, offline, busy) are not stored.

Revision ID: 0025_video_calls
Revises: 0024_open_due_id
Create Date: 2026-12-05 21:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0025_video_calls"
down_revision: str | None = "0024_open_due_id"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "video_call",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("caller_id", sa.Integer(), nullable=False),
        sa.Column("callee_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("started_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("answered_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("ended_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["caller_id"], ["user_account.id"], name=op.f("fk_video_call_caller_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["callee_id"], ["user_account.id"], name=op.f("fk_video_call_callee_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_video_call_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_video_call")),
    )
    op.create_index("ix_video_call_event_id", "video_call", ["event_id"])
    op.create_index(op.f("ix_video_call_caller_id"), "video_call", ["caller_id"])
    op.create_index(op.f("ix_video_call_callee_id"), "video_call", ["callee_id"])


def downgrade() -> None:
    op.drop_table("video_call")

"""residents' sign-in codes and 我也遇到 (issue 19, items 1 and 3)

`sms_code` holds one row per one-time sign-in code sent by SMS: the phone number, the code's
keyed hash (never the code), when it was made and expires, when it was used and how many wrong
tries it took. `event_me_too` holds one row per resident who pressed 我也遇到 on an event.

Revision ID: 0029_resident_sign_in
Revises: 0028_meeting_rooms
Create Date: 2026-12-05 23:59:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0029_resident_sign_in"
down_revision: str | None = "0028_meeting_rooms"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("wrong_tries", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sms_code")),
    )
    op.create_index(op.f("ix_sms_code_phone"), "sms_code", ["phone"])
    op.create_table(
        "event_me_too",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_event_me_too_event_id_event")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_event_me_too_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("event_id", "user_id", name=op.f("pk_event_me_too")),
    )
    op.create_index(op.f("ix_event_me_too_user_id"), "event_me_too", ["user_id"])


def downgrade() -> None:
    op.drop_table("event_me_too")
    op.drop_index(op.f("ix_sms_code_phone"), table_name="sms_code")
    op.drop_table("sms_code")

"""meeting rooms: sessions held in a level's room and who took part (issue 18, item 3)

`room_session` holds one row per meeting: the room (its org unit and path), title, who opened it
and when, when it closed, the rooms invited and the linked events and warnings. `room_participant`
holds one row per party that joined: who, when, when and how they left.

Revision ID: 0028_meeting_rooms
Revises: 0027_search
Create Date: 2026-12-05 21:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0028_meeting_rooms"
down_revision: str | None = "0027_search"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "room_session",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("opened_by", sa.Integer(), nullable=False),
        sa.Column("opened_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("closed_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("invited_org_ids", sa.JSON(), nullable=False),
        sa.Column("event_ids", sa.JSON(), nullable=False),
        sa.Column("warning_ids", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_room_session_org_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["opened_by"], ["user_account.id"], name=op.f("fk_room_session_opened_by_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_session")),
    )
    op.create_index("ix_room_session_org_opened", "room_session", ["org_id", "opened_at"])
    op.create_index(op.f("ix_room_session_org_path"), "room_session", ["org_path"])
    op.create_table(
        "room_participant",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("joined_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("left_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("left_how", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["room_session.id"],
            name=op.f("fk_room_participant_session_id_room_session"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_room_participant_user_id_user_account")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_room_participant")),
    )
    op.create_index(op.f("ix_room_participant_session_id"), "room_participant", ["session_id"])
    op.create_index(op.f("ix_room_participant_user_id"), "room_participant", ["user_id"])


def downgrade() -> None:
    op.drop_table("room_participant")
    op.drop_table("room_session")

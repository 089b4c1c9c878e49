"""analysis meetings (issue 20, item 3): meetings, their attendees and trail

`meeting` holds one analysis meeting (研判会商) of a district, town or village: time, place, the
video room's org, whether the rules scheduled it (its period key, unique per org), the period its
agenda reviews, the agenda (JSON), minutes, status and version. `meeting_attendee` who was asked
and who was there; `meeting_log` the trail. Decisions are tracked tasks (0035).

Revision ID: 0036_meetings
Revises: 0035_tracked_tasks
Create Date: 2026-12-06 03:05:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0036_meetings"
down_revision: str | None = "0035_tracked_tasks"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)
MISSED_PENDING = "status = 'scheduled'"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "meeting",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(length=12), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("scheduled_at", UTC, nullable=False),
        sa.Column("missed_after", UTC, nullable=False),
        sa.Column("place", sa.String(length=100), nullable=False),
        sa.Column("room_org_id", sa.Integer(), nullable=True),
        sa.Column("regular", sa.Boolean(), nullable=False),
        sa.Column("period_key", sa.String(length=8), nullable=True),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("agenda", sa.JSON(), nullable=False),
        sa.Column("agenda_drafted_at", UTC, nullable=True),
        sa.Column("minutes", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("held_at", UTC, nullable=True),
        sa.Column("held_by", sa.Integer(), nullable=True),
        sa.Column("missed_at", UTC, nullable=True),
        sa.Column("cancel_reason", sa.String(length=500), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("meeting", "org_id", "org_unit"),
        _fk("meeting", "town_id", "org_unit"),
        _fk("meeting", "room_org_id", "org_unit"),
        _fk("meeting", "held_by", "user_account"),
        _fk("meeting", "created_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting")),
        sa.UniqueConstraint("org_id", "period_key", name=op.f("uq_meeting_org_id")),
    )
    op.create_index(op.f("ix_meeting_org_path"), "meeting", ["org_path"])
    op.create_index(op.f("ix_meeting_scheduled_at"), "meeting", ["scheduled_at"])
    op.create_index("ix_meeting_town_scheduled", "meeting", ["town_id", "scheduled_at"])
    op.create_index(
        "ix_meeting_missed_pending", "meeting", ["missed_after"],
        sqlite_where=sa.text(MISSED_PENDING), postgresql_where=sa.text(MISSED_PENDING),
    )  # fmt: skip
    op.create_table(
        "meeting_attendee",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("present", sa.Boolean(), nullable=True),
        _fk("meeting_attendee", "meeting_id", "meeting"),
        _fk("meeting_attendee", "user_id", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_attendee")),
        sa.UniqueConstraint("meeting_id", "user_id", name=op.f("uq_meeting_attendee_meeting_id")),
    )
    op.create_index(op.f("ix_meeting_attendee_user_id"), "meeting_attendee", ["user_id"])
    op.create_table(
        "meeting_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=12), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _fk("meeting_log", "meeting_id", "meeting"),
        _fk("meeting_log", "actor_id", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_meeting_log")),
    )
    op.create_index(op.f("ix_meeting_log_meeting_id"), "meeting_log", ["meeting_id"])


def downgrade() -> None:
    op.drop_table("meeting_log")
    op.drop_table("meeting_attendee")
    op.drop_table("meeting")

"""tracked tasks (issue 20): decisions and rectification items with deadlines, lights and a trail

`tracked_task` holds one task (kind, source, area, owner unit or user, deadline, yellow and
reminder times, overdue mark, status, result, version); `tracked_task_trail` its append-only
trail; `tracked_task_photo` its checked evidence photos. Two partial indexes hold only the open
tasks still owed a reminder or an overdue mark, for the `tasks.sweep` job.

Revision ID: 0035_tracked_tasks
Revises: 0034_campaigns
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0035_tracked_tasks"
down_revision: str | None = "0034_campaigns"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)
REMINDER_PENDING = "status = 'open' AND reminded_at IS NULL"
OVERDUE_PENDING = "status = 'open' AND overdue_at IS NULL"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    op.create_table(
        "tracked_task",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source_type", sa.String(length=24), nullable=False),
        sa.Column("source_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("owner_unit_id", sa.Integer(), nullable=True),
        sa.Column("owner_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("due_at", UTC, nullable=False),
        sa.Column("yellow_at", UTC, nullable=False),
        sa.Column("remind_at", UTC, nullable=True),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.Column("overdue_at", UTC, nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("done_at", UTC, nullable=True),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("evidence_required", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("tracked_task", "org_id", "org_unit"),
        _fk("tracked_task", "town_id", "org_unit"),
        _fk("tracked_task", "owner_unit_id", "unit"),
        _fk("tracked_task", "owner_user_id", "user_account"),
        _fk("tracked_task", "created_by", "user_account"),
        _fk("tracked_task", "done_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_task")),
        sa.UniqueConstraint("code", name=op.f("uq_tracked_task_code")),
    )
    for column in ("org_path", "town_id", "owner_unit_id", "owner_user_id"):
        op.create_index(op.f(f"ix_tracked_task_{column}"), "tracked_task", [column])
    op.create_index("ix_tracked_task_source", "tracked_task", ["source_type", "source_id"])
    op.create_index("ix_tracked_task_status_due", "tracked_task", ["status", "due_at"])
    op.create_index(
        "ix_tracked_task_remind_pending", "tracked_task", ["remind_at"],
        sqlite_where=sa.text(REMINDER_PENDING), postgresql_where=sa.text(REMINDER_PENDING),
    )  # fmt: skip
    op.create_index(
        "ix_tracked_task_overdue_pending", "tracked_task", ["due_at"],
        sqlite_where=sa.text(OVERDUE_PENDING), postgresql_where=sa.text(OVERDUE_PENDING),
    )  # fmt: skip
    op.create_table(
        "tracked_task_trail",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        _fk("tracked_task_trail", "task_id", "tracked_task"),
        _fk("tracked_task_trail", "actor_id", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_task_trail")),
    )
    op.create_index(op.f("ix_tracked_task_trail_task_id"), "tracked_task_trail", ["task_id"])
    op.create_table(
        "tracked_task_photo",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("mime", sa.String(length=32), nullable=False),
        sa.Column("bytes", sa.Integer(), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("taken_at", UTC, nullable=True),
        sa.Column("uploaded_by", sa.Integer(), nullable=False),
        sa.Column("uploaded_at", UTC, nullable=False),
        _fk("tracked_task_photo", "task_id", "tracked_task"),
        _fk("tracked_task_photo", "uploaded_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tracked_task_photo")),
    )
    op.create_index(op.f("ix_tracked_task_photo_task_id"), "tracked_task_photo", ["task_id"])


def downgrade() -> None:
    op.drop_table("tracked_task_photo")
    op.drop_table("tracked_task_trail")
    op.drop_table("tracked_task")

"""joint enforcement and co-handling (issue 20, item 1)

`event_part` is an assisting unit's part (协办) of a joint event, with its own signature,
feedback, waiver, deadline and light; `event.assist_count` / `assist_open` count them so an
event without parts reads nothing more. `routing_rule.assist_unit_types` lets a rule propose
assisting unit types besides its lead. `joint_operation` (联合行动), the events it closed and its
trail.

Revision ID: 0033_cohandling
Revises: 0032_notices
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0033_cohandling"
down_revision: str | None = "0032_notices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)
PART_OPEN_SQL = "status IN ('dispatched', 'signed')"


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def upgrade() -> None:
    # Plain ADD COLUMN with a constant default: SQLite does it in place, no table rebuild.
    op.add_column(
        "event",
        sa.Column("assist_count", sa.Integer(), server_default=sa.text("0"), nullable=False),
    )
    op.add_column(
        "event", sa.Column("assist_open", sa.Integer(), server_default=sa.text("0"), nullable=False)
    )
    op.add_column(
        "routing_rule",
        sa.Column("assist_unit_types", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
    )
    op.create_table(
        "event_part",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("dispatched_at", UTC, nullable=False),
        sa.Column("dispatched_by", sa.Integer(), nullable=True),
        sa.Column("signed_at", UTC, nullable=True),
        sa.Column("signed_by", sa.Integer(), nullable=True),
        sa.Column("fed_back_at", UTC, nullable=True),
        sa.Column("fed_back_by", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("photo_ids", sa.JSON(), nullable=False),
        sa.Column("waived_at", UTC, nullable=True),
        sa.Column("waived_by", sa.Integer(), nullable=True),
        sa.Column("waive_reason", sa.Text(), nullable=True),
        sa.Column("sla_policy_id", sa.Integer(), nullable=True),
        sa.Column("due_at", UTC, nullable=True),
        sa.Column("yellow_at", UTC, nullable=True),
        sa.Column("remind_at", UTC, nullable=True),
        sa.Column("reminded_at", UTC, nullable=True),
        sa.Column("overdue_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("event_part", "event_id", "event"),
        _fk("event_part", "unit_id", "unit"),
        _fk("event_part", "town_id", "org_unit"),
        _fk("event_part", "dispatched_by", "user_account"),
        _fk("event_part", "signed_by", "user_account"),
        _fk("event_part", "fed_back_by", "user_account"),
        _fk("event_part", "waived_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_event_part")),
        sa.UniqueConstraint("event_id", "unit_id", name="uq_event_part_event_unit"),
    )
    op.create_index(op.f("ix_event_part_event_id"), "event_part", ["event_id"])
    op.create_index("ix_event_part_unit_status", "event_part", ["unit_id", "status"])
    for name, column, pending in (
        ("ix_event_part_open_remind", "remind_at", "reminded_at IS NULL"),
        ("ix_event_part_open_due", "due_at", "overdue_at IS NULL"),
    ):
        where = sa.text(f"{PART_OPEN_SQL} AND {pending}")
        op.create_index(name, "event_part", [column], sqlite_where=where, postgresql_where=where)
    op.create_table(
        "joint_operation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=True),
        sa.Column("lead_unit_id", sa.Integer(), nullable=False),
        sa.Column("unit_ids", sa.JSON(), nullable=False),
        sa.Column("people", sa.Integer(), nullable=False),
        sa.Column("place", sa.String(length=200), nullable=False),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("lng", sa.Float(), nullable=True),
        sa.Column("area", sa.JSON(), nullable=True),
        sa.Column("starts_at", UTC, nullable=False),
        sa.Column("ends_at", UTC, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("results", sa.Text(), nullable=False),
        sa.Column("quantities", sa.JSON(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("done_by", sa.Integer(), nullable=True),
        sa.Column("done_at", UTC, nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        _fk("joint_operation", "org_id", "org_unit"),
        _fk("joint_operation", "town_id", "org_unit"),
        _fk("joint_operation", "lead_unit_id", "unit"),
        _fk("joint_operation", "created_by", "user_account"),
        _fk("joint_operation", "done_by", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_operation")),
        sa.UniqueConstraint("code", name=op.f("uq_joint_operation_code")),
    )
    op.create_index("ix_joint_operation_org_starts", "joint_operation", ["org_path", "starts_at"])
    op.create_table(
        "joint_operation_event",
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("linked_by", sa.Integer(), nullable=False),
        sa.Column("linked_at", UTC, nullable=False),
        _fk("joint_operation_event", "operation_id", "joint_operation"),
        _fk("joint_operation_event", "event_id", "event"),
        _fk("joint_operation_event", "linked_by", "user_account"),
        sa.PrimaryKeyConstraint("operation_id", "event_id", name=op.f("pk_joint_operation_event")),
    )
    op.create_index(
        op.f("ix_joint_operation_event_event_id"), "joint_operation_event", ["event_id"]
    )
    op.create_table(
        "joint_operation_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("operation_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        _fk("joint_operation_log", "operation_id", "joint_operation"),
        _fk("joint_operation_log", "actor_id", "user_account"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_joint_operation_log")),
    )
    op.create_index(
        op.f("ix_joint_operation_log_operation_id"), "joint_operation_log", ["operation_id"]
    )


def downgrade() -> None:
    op.drop_table("joint_operation_log")
    op.drop_table("joint_operation_event")
    op.drop_table("joint_operation")
    op.drop_table("event_part")
    with op.batch_alter_table("routing_rule") as batch:
        batch.drop_column("assist_unit_types")
    with op.batch_alter_table("event") as batch:
        batch.drop_column("assist_open")
        batch.drop_column("assist_count")

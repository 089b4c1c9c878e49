"""supervision rounds, rectification and the versioned standard (issue 20, items 4 and 5)

`standard_version` holds a version of the eight-aspect standard (draft / published /
superseded), `standard_item` its items (aspect, text, weight, evidence), `standard_log` its trail.
`inspection_group` is a supervision group, `inspection_group_member` its members and
`inspection_group_town` its towns (a town in one group at a time). `inspection_round` is one
town's monthly round, `inspection_round_item` an item's result and its rectification (a tracked
task). `self_assessment` and `self_assessment_item` are a town's own assessment of a year.
`inspection_log` is the trail of groups, rounds and self-assessments.

Revision ID: 0037_inspections
Revises: 0035_tracked_tasks
Create Date: 2026-12-06 03:10:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0037_inspections"
down_revision: str | None = "0036_meetings"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=op.f(f"fk_{table}_{column}_{target}")
    )


def _pk(table: str) -> sa.PrimaryKeyConstraint:
    return sa.PrimaryKeyConstraint("id", name=op.f(f"pk_{table}"))


def _id() -> sa.Column[int]:
    return sa.Column("id", sa.Integer(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "standard_version",
        _id(),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC, nullable=True),
        sa.Column("superseded_at", UTC, nullable=True),
        _fk("standard_version", "created_by", "user_account"),
        _fk("standard_version", "published_by", "user_account"),
        _pk("standard_version"),
        sa.UniqueConstraint("number", name=op.f("uq_standard_version_number")),
    )
    op.create_index("ix_standard_version_status", "standard_version", ["status"])
    op.create_table(
        "standard_item",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("aspect", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=200), nullable=False),
        sa.Column("weight", sa.Float(), nullable=False),
        sa.Column("evidence", sa.String(length=16), nullable=False),
        _fk("standard_item", "version_id", "standard_version"),
        _pk("standard_item"),
    )
    op.create_index("ix_standard_item_version", "standard_item", ["version_id", "position"])
    op.create_table(
        "standard_log",
        _id(),
        sa.Column("version_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _fk("standard_log", "version_id", "standard_version"),
        _fk("standard_log", "actor_id", "user_account"),
        _pk("standard_log"),
    )
    op.create_index(op.f("ix_standard_log_version_id"), "standard_log", ["version_id"])
    op.create_table(
        "inspection_group",
        _id(),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        _fk("inspection_group", "created_by", "user_account"),
        _pk("inspection_group"),
        sa.UniqueConstraint("name", name=op.f("uq_inspection_group_name")),
    )
    op.create_table(
        "inspection_group_member",
        _id(),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        _fk("inspection_group_member", "group_id", "inspection_group"),
        _fk("inspection_group_member", "user_id", "user_account"),
        _pk("inspection_group_member"),
        sa.UniqueConstraint(
            "group_id", "user_id", name=op.f("uq_inspection_group_member_group_id")
        ),
    )
    op.create_index(
        op.f("ix_inspection_group_member_user_id"), "inspection_group_member", ["user_id"]
    )
    op.create_table(
        "inspection_group_town",
        _id(),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("assigned_at", UTC, nullable=False),
        _fk("inspection_group_town", "group_id", "inspection_group"),
        _fk("inspection_group_town", "town_id", "org_unit"),
        _pk("inspection_group_town"),
        sa.UniqueConstraint("town_id", name=op.f("uq_inspection_group_town_town_id")),
    )
    op.create_index("ix_inspection_group_town_group", "inspection_group_town", ["group_id"])
    op.create_table(
        "inspection_round",
        _id(),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("town_path", sa.String(length=255), nullable=False),
        sa.Column("standard_version_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("held_on", sa.Date(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=True),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        _fk("inspection_round", "group_id", "inspection_group"),
        _fk("inspection_round", "town_id", "org_unit"),
        _fk("inspection_round", "standard_version_id", "standard_version"),
        _fk("inspection_round", "created_by", "user_account"),
        _pk("inspection_round"),
        sa.UniqueConstraint("town_id", "year", "month", name=op.f("uq_inspection_round_town_id")),
    )
    op.create_index(op.f("ix_inspection_round_group_id"), "inspection_round", ["group_id"])
    op.create_index(op.f("ix_inspection_round_town_path"), "inspection_round", ["town_path"])
    op.create_index("ix_inspection_round_year", "inspection_round", ["year", "month"])
    op.create_table(
        "inspection_round_item",
        _id(),
        sa.Column("round_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("task_id", sa.Integer(), nullable=True),
        _fk("inspection_round_item", "round_id", "inspection_round"),
        _fk("inspection_round_item", "item_id", "standard_item"),
        _fk("inspection_round_item", "task_id", "tracked_task"),
        _pk("inspection_round_item"),
        sa.UniqueConstraint("round_id", "item_id", name=op.f("uq_inspection_round_item_round_id")),
    )
    op.create_index(op.f("ix_inspection_round_item_task_id"), "inspection_round_item", ["task_id"])
    op.create_table(
        "self_assessment",
        _id(),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("town_path", sa.String(length=255), nullable=False),
        sa.Column("standard_version_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("submitted_at", UTC, nullable=True),
        _fk("self_assessment", "town_id", "org_unit"),
        _fk("self_assessment", "standard_version_id", "standard_version"),
        _fk("self_assessment", "created_by", "user_account"),
        _fk("self_assessment", "submitted_by", "user_account"),
        _pk("self_assessment"),
        sa.UniqueConstraint("town_id", "year", name=op.f("uq_self_assessment_town_id")),
    )
    op.create_index(op.f("ix_self_assessment_town_path"), "self_assessment", ["town_path"])
    op.create_index(op.f("ix_self_assessment_year"), "self_assessment", ["year"])
    op.create_table(
        "self_assessment_item",
        _id(),
        sa.Column("assessment_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("result", sa.String(length=16), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("evidence", sa.String(length=500), nullable=True),
        _fk("self_assessment_item", "assessment_id", "self_assessment"),
        _fk("self_assessment_item", "item_id", "standard_item"),
        _pk("self_assessment_item"),
        sa.UniqueConstraint(
            "assessment_id", "item_id", name=op.f("uq_self_assessment_item_assessment_id")
        ),
    )
    op.create_table(
        "inspection_log",
        _id(),
        sa.Column("subject", sa.String(length=16), nullable=False),
        sa.Column("subject_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        _fk("inspection_log", "actor_id", "user_account"),
        _pk("inspection_log"),
    )
    op.create_index("ix_inspection_log_subject", "inspection_log", ["subject", "subject_id"])


def downgrade() -> None:
    for table in (
        "inspection_log", "self_assessment_item", "self_assessment", "inspection_round_item",
        "inspection_round", "inspection_group_town", "inspection_group_member",
        "inspection_group", "standard_log", "standard_item", "standard_version",
    ):  # fmt: skip
        op.drop_table(table)

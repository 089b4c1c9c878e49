"""the annual target assessment and benchmark towns (issue 20, items 5 and 6)

`annual_scheme` holds a year's weights (towns, departments, benchmark towns) and whether the
year is closed; `unit_evaluation` a department's evaluation score of a year from the area that
judges it; `benchmark_list` the year's confirmed benchmark towns; `annual_log` the trail.

Revision ID: 0038_annual
Revises: 0037_inspections
Create Date: 2026-12-06 03:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0038_annual"
down_revision: str | None = "0037_inspections"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)


def _user(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["user_account.id"], name=op.f(f"fk_{table}_{column}_user_account")
    )


def upgrade() -> None:
    op.create_table(
        "annual_scheme",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("weights", sa.JSON(), nullable=False),
        sa.Column("department_weights", sa.JSON(), nullable=False),
        sa.Column("benchmark_weights", sa.JSON(), nullable=False),
        sa.Column("benchmark_count", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.Column("closed_by", sa.Integer(), nullable=True),
        sa.Column("closed_at", UTC, nullable=True),
        _user("annual_scheme", "updated_by"),
        _user("annual_scheme", "closed_by"),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_annual_scheme")),
    )
    op.create_table(
        "unit_evaluation",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("entered_by", sa.Integer(), nullable=False),
        sa.Column("entered_at", UTC, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["unit_id"], ["unit.id"], name=op.f("fk_unit_evaluation_unit_id_unit")
        ),
        _user("unit_evaluation", "entered_by"),
        sa.PrimaryKeyConstraint("year", "unit_id", name=op.f("pk_unit_evaluation")),
    )
    op.create_table(
        "benchmark_list",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("town_ids", sa.JSON(), nullable=False),
        sa.Column("standings", sa.JSON(), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.Column("confirmed_by", sa.Integer(), nullable=False),
        sa.Column("confirmed_at", UTC, nullable=False),
        _user("benchmark_list", "confirmed_by"),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_benchmark_list")),
    )
    op.create_table(
        "annual_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        _user("annual_log", "actor_id"),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_annual_log_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_annual_log")),
    )
    op.create_index(op.f("ix_annual_log_year"), "annual_log", ["year"])


def downgrade() -> None:
    op.drop_table("annual_log")
    op.drop_table("benchmark_list")
    op.drop_table("unit_evaluation")
    op.drop_table("annual_scheme")

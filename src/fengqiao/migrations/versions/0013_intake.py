"""intake: business modules as intake presets

Revision ID: 0013_intake
Revises: 0012_services
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0013_intake"
down_revision: str | None = "0012_services"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "intake_module",
        sa.Column("code", sa.String(length=16), nullable=False),
        sa.Column("name_zh", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("keywords", sa.JSON(), nullable=False),
        sa.Column("checklist", sa.JSON(), nullable=False),
        sa.Column("checklist_title", sa.String(length=64), nullable=False),
        sa.Column("subject_label", sa.String(length=32), nullable=False),
        sa.Column("subject_question", sa.String(length=32), nullable=True),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_intake_module")),
    )
    op.create_table(
        "intake_question",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("datatype", sa.String(length=16), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("description", sa.String(length=200), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"],
            name=op.f("fk_intake_question_category_code_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_intake_question")),
        sa.UniqueConstraint("category_code", "code", name="uq_intake_question_category_code"),
    )  # fmt: skip
    op.create_table(
        "checklist_run",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("module_code", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("patrol_id", sa.Integer(), nullable=True),
        sa.Column("subject", sa.String(length=100), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("grid_path", sa.String(length=255), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("problems", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(length=128), nullable=True),
        sa.ForeignKeyConstraint(
            ["module_code"], ["intake_module.code"],
            name=op.f("fk_checklist_run_module_code_intake_module"),
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["user_account.id"], name=op.f("fk_checklist_run_user_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["patrol_id"], ["patrol.id"], name=op.f("fk_checklist_run_patrol_id_patrol")
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_checklist_run_grid_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_run")),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_checklist_run_user_key"),
    )  # fmt: skip
    op.create_index("ix_checklist_run_grid_at", "checklist_run", ["grid_id", "at"])
    op.create_index("ix_checklist_run_user_at", "checklist_run", ["user_id", "at"])


def downgrade() -> None:
    op.drop_index("ix_checklist_run_user_at", table_name="checklist_run")
    op.drop_index("ix_checklist_run_grid_at", table_name="checklist_run")
    op.drop_table("checklist_run")
    op.drop_table("intake_question")
    op.drop_table("intake_module")

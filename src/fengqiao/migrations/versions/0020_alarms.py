"""alarms that cannot be missed: who took each alarm (接警) and when it climbed (issue 17, item 3)

`alarm_state` holds one row per alarm (an urgent or IoT event) once someone acknowledged it or
the worker's `alarms` job climbed it to the district; an alarm without a row waits for 接警.

Revision ID: 0020_alarms
Revises: 0019_proof
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0020_alarms"
down_revision: str | None = "0019_proof"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "alarm_state",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("acked_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("acked_by", sa.Integer(), nullable=True),
        sa.Column("climbed_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_alarm_state_event_id_event")
        ),
        sa.ForeignKeyConstraint(
            ["acked_by"], ["user_account.id"], name=op.f("fk_alarm_state_acked_by_user_account")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_alarm_state")),
    )


def downgrade() -> None:
    op.drop_table("alarm_state")

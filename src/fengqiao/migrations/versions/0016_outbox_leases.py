"""outbox: per-message claims, renewed leases and fencing (issue 15, item 9)

A claimed row carries the claim's token (`claim_token`, the fencing token every later write of
that claim must match) and the wall-clock end of its lease (`leased_until`, renewed while the
message is being sent), apart from `next_attempt_at`, which stays the business time it is due.

Revision ID: 0016_outbox_leases
Revises: 0015_access_log
Create Date: 2026-12-05 08:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0016_outbox_leases"
down_revision: str | None = "0015_access_log"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))
        batch.add_column(
            sa.Column("leased_until", fengqiao.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("leased_until")
        batch.drop_column("claim_token")

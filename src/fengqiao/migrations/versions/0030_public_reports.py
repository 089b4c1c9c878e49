"""public reports: photos staff mark public, SMS on request, a rating's comment (issue 19, item 2)

`attachment.public`: staff marked the photo 公开给上报人 (the reporter sees it on their report;
the public map may show it). `event.notify_sms`: the resident asked for a text message at each
public step (the app inbox is always told). `event.rating_comment`: what the resident wrote with
their stars.

Revision ID: 0030_public_reports
Revises: 0028_meeting_rooms
Create Date: 2026-12-05 23:59:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0030_public_reports"
down_revision: str | None = "0029_resident_sign_in"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN on both backends: the event table keeps its indexes and triggers as they are.
    op.add_column(
        "attachment",
        sa.Column("public", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column(
        "event",
        sa.Column("notify_sms", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("event", sa.Column("rating_comment", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("event") as batch:
        batch.drop_column("rating_comment")
        batch.drop_column("notify_sms")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("public")

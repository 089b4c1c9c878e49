"""open311 requests real clients can live with (issue 19, item 4)

`open311_request` gains `public_id` (an opaque id handed out instead of the event code, which
counts a town's events of the day; NULL for requests filed before, which keep their code as
their id), `media_urls` (every `media_url` sent), `extra` (fields and attribute answers the
definition does not know, kept, not refused) and `located_by` (how the point was found: lat/long,
address_string or address_id). `event_log` gains an index by time, so `servicerequestupdates`
reads one window of trail rows instead of every event's trail.

Revision ID: 0031_open311_requests
Revises: 0028_meeting_rooms
Create Date: 2026-12-05 23:59:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0031_open311_requests"
down_revision: str | None = "0030_public_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("open311_request") as batch:
        batch.add_column(sa.Column("public_id", sa.String(length=24), nullable=True))
        batch.add_column(sa.Column("media_urls", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("extra", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("located_by", sa.String(length=16), nullable=True))
        batch.create_unique_constraint("uq_open311_request_public_id", ["public_id"])
    op.create_index("ix_event_log_at", "event_log", ["at", "event_id"])


def downgrade() -> None:
    op.drop_index("ix_event_log_at", table_name="event_log")
    with op.batch_alter_table("open311_request") as batch:
        batch.drop_constraint("uq_open311_request_public_id", type_="unique")
        batch.drop_column("located_by")
        batch.drop_column("extra")
        batch.drop_column("media_urls")
        batch.drop_column("public_id")

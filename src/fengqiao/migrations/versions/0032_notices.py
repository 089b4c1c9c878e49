"""notices to residents and leaflet deliveries (issue 19, item 6)

`notice` holds a notice to an area (title, text, checked images, validity dates, draft /
published / withdrawn, who published or withdrew it); `notice_log` its trail.
`leaflet_campaign` is a run of printed leaflets; `leaflet_delivery` one household of a grid it
reached, unique per campaign, grid and household.

Revision ID: 0032_notices
Revises: 0028_meeting_rooms
Create Date: 2026-12-05 23:59:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0032_notices"
down_revision: str | None = "0031_open311_requests"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = fengqiao.db.UTCDateTime(timezone=True)


def _user(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["user_account.id"], name=op.f(f"fk_{table}_{column}_user_account")
    )


def upgrade() -> None:
    op.create_table(
        "notice",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("images", sa.JSON(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("published_by", sa.Integer(), nullable=True),
        sa.Column("published_at", UTC, nullable=True),
        sa.Column("withdrawn_by", sa.Integer(), nullable=True),
        sa.Column("withdrawn_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_notice_org_id_org_unit")
        ),
        _user("notice", "created_by"),
        _user("notice", "published_by"),
        _user("notice", "withdrawn_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice")),
    )
    op.create_index(op.f("ix_notice_org_path"), "notice", ["org_path"])
    op.create_index("ix_notice_status_valid", "notice", ["status", "valid_from", "valid_to"])
    op.create_table(
        "notice_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=False),
        sa.Column("at", UTC, nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notice.id"], name=op.f("fk_notice_log_notice_id_notice")
        ),
        _user("notice_log", "actor_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notice_log")),
    )
    op.create_index(op.f("ix_notice_log_notice_id"), "notice_log", ["notice_id"])
    op.create_table(
        "leaflet_campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("notice_id", sa.Integer(), nullable=True),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_leaflet_campaign_org_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["notice_id"], ["notice.id"], name=op.f("fk_leaflet_campaign_notice_id_notice")
        ),
        _user("leaflet_campaign", "created_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaflet_campaign")),
    )
    op.create_index(op.f("ix_leaflet_campaign_org_path"), "leaflet_campaign", ["org_path"])
    op.create_table(
        "leaflet_delivery",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("grid_path", sa.String(length=255), nullable=False),
        sa.Column("household", sa.String(length=100), nullable=False),
        sa.Column("household_key", sa.String(length=100), nullable=False),
        sa.Column("copies", sa.Integer(), nullable=False),
        sa.Column("delivered_by", sa.Integer(), nullable=False),
        sa.Column("delivered_at", UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["leaflet_campaign.id"],
            name=op.f("fk_leaflet_delivery_campaign_id_leaflet_campaign"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_leaflet_delivery_grid_id_org_unit")
        ),
        _user("leaflet_delivery", "delivered_by"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_leaflet_delivery")),
        sa.UniqueConstraint(
            "campaign_id",
            "grid_id",
            "household_key",
            name=op.f("uq_leaflet_delivery_campaign_id"),
        ),
    )
    op.create_index("ix_leaflet_delivery_grid", "leaflet_delivery", ["grid_id", "campaign_id"])
    op.create_index(op.f("ix_leaflet_delivery_grid_path"), "leaflet_delivery", ["grid_path"])


def downgrade() -> None:
    op.drop_table("leaflet_delivery")
    op.drop_table("leaflet_campaign")
    op.drop_table("notice_log")
    op.drop_table("notice")

"""campaigns (专项整治, issue 20 item 2)

`campaign` holds a campaign (name, area towns, classes, period, status); `campaign_measure` its
measures (name, unit, classes counted, target, per-town targets); `campaign_event` the events
tagged to it (automatically or by hand, removal kept); `campaign_quantity` what each closing
achieved per measure; `campaign_progress` the rollup by campaign, measure, town and day the
dashboard reads; `campaign_cursor` how far the tagging job has read the events;
`campaign_log` the trail.

Revision ID: 0034_campaigns
Revises: 0033_cohandling
Create Date: 2026-12-06 02:55:40.217390
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0034_campaigns"
down_revision: str | None = "0033_cohandling"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "campaign_cursor",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("last_event_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_campaign_cursor")),
    )
    op.create_table(
        "campaign",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("org_path", sa.String(length=255), nullable=False),
        sa.Column("town_ids", sa.JSON(), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("ended_by", sa.Integer(), nullable=True),
        sa.Column("ended_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"], name=op.f("fk_campaign_created_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["ended_by"], ["user_account.id"], name=op.f("fk_campaign_ended_by_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_campaign_org_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign")),
    )
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_campaign_org_path"), ["org_path"], unique=False)

    op.create_table(
        "campaign_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("how", sa.String(length=8), nullable=False),
        sa.Column("tagged_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("tagged_by", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("removed_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_by", sa.Integer(), nullable=True),
        sa.Column("counted", sa.Boolean(), nullable=False),
        sa.Column("counted_day", sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_event_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_campaign_event_event_id_event")
        ),
        sa.ForeignKeyConstraint(
            ["removed_by"],
            ["user_account.id"],
            name=op.f("fk_campaign_event_removed_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["tagged_by"],
            ["user_account.id"],
            name=op.f("fk_campaign_event_tagged_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["org_unit.id"], name=op.f("fk_campaign_event_town_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_event")),
        sa.UniqueConstraint("campaign_id", "event_id", name=op.f("uq_campaign_event_campaign_id")),
    )
    with op.batch_alter_table("campaign_event", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_event_event", ["event_id"], unique=False)
        batch_op.create_index("ix_campaign_event_uncounted", ["counted", "event_id"], unique=False)

    op.create_table(
        "campaign_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.String(length=500), nullable=True),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"], name=op.f("fk_campaign_log_actor_id_user_account")
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_log_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_campaign_log_event_id_event")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_log")),
    )
    with op.batch_alter_table("campaign_log", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_log_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "campaign_measure",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=4), nullable=False),
        sa.Column("classes", sa.JSON(), nullable=False),
        sa.Column("target", sa.Float(), nullable=False),
        sa.Column("town_targets", sa.JSON(), nullable=False),
        sa.Column("default_quantity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_measure_campaign_id_campaign")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_measure")),
        sa.UniqueConstraint(
            "campaign_id", "name", "unit", name=op.f("uq_campaign_measure_campaign_id")
        ),
    )
    with op.batch_alter_table("campaign_measure", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_measure_campaign_id"), ["campaign_id"], unique=False
        )

    op.create_table(
        "campaign_progress",
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("done", sa.Float(), nullable=False),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_progress_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["campaign_measure.id"],
            name=op.f("fk_campaign_progress_measure_id_campaign_measure"),
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["org_unit.id"], name=op.f("fk_campaign_progress_town_id_org_unit")
        ),
        sa.PrimaryKeyConstraint(
            "campaign_id", "measure_id", "town_id", "day", name=op.f("pk_campaign_progress")
        ),
    )
    op.create_table(
        "campaign_quantity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("measure_id", sa.Integer(), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("entered_by", sa.Integer(), nullable=True),
        sa.Column("entered_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["campaign_id"], ["campaign.id"], name=op.f("fk_campaign_quantity_campaign_id_campaign")
        ),
        sa.ForeignKeyConstraint(
            ["entered_by"],
            ["user_account.id"],
            name=op.f("fk_campaign_quantity_entered_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_campaign_quantity_event_id_event")
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["campaign_measure.id"],
            name=op.f("fk_campaign_quantity_measure_id_campaign_measure"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_quantity")),
        sa.UniqueConstraint(
            "campaign_id", "event_id", "measure_id", name=op.f("uq_campaign_quantity_campaign_id")
        ),
    )
    with op.batch_alter_table("campaign_quantity", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_campaign_quantity_event_id"), ["event_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("campaign_quantity", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_quantity_event_id"))

    op.drop_table("campaign_quantity")
    op.drop_table("campaign_progress")
    with op.batch_alter_table("campaign_measure", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_measure_campaign_id"))

    op.drop_table("campaign_measure")
    with op.batch_alter_table("campaign_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_log_campaign_id"))

    op.drop_table("campaign_log")
    with op.batch_alter_table("campaign_event", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_event_uncounted")
        batch_op.drop_index("ix_campaign_event_event")

    op.drop_table("campaign_event")
    with op.batch_alter_table("campaign", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_campaign_org_path"))

    op.drop_table("campaign")
    op.drop_table("campaign_cursor")

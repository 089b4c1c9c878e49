"""iot: device registry, alarm inbox and folding

Revision ID: 0010_iot
Revises: 0009_open311
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0010_iot"
down_revision: str | None = "0009_open311"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "iot_device",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("device_type", sa.String(length=32), nullable=False),
        sa.Column("lng", sa.Float(), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=True),
        sa.Column("unit_id", sa.Integer(), nullable=True),
        sa.Column("reporter_id", sa.Integer(), nullable=False),
        sa.Column("key_prefix", sa.String(length=16), nullable=False),
        sa.Column("key_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("feature_id", sa.Integer(), nullable=True),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_iot_device_category_code_category")
        ),
        sa.ForeignKeyConstraint(
            ["feature_id"],
            ["layer_feature.id"],
            name=op.f("fk_iot_device_feature_id_layer_feature"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_iot_device_grid_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["reporter_id"],
            ["user_account.id"],
            name=op.f("fk_iot_device_reporter_id_user_account"),
        ),
        sa.ForeignKeyConstraint(["unit_id"], ["unit.id"], name=op.f("fk_iot_device_unit_id_unit")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_device")),
        sa.UniqueConstraint("code", name=op.f("uq_iot_device_code")),
        sa.UniqueConstraint("key_prefix", name=op.f("uq_iot_device_key_prefix")),
    )
    with op.batch_alter_table("iot_device", schema=None) as batch_op:
        batch_op.create_index("ix_iot_device_grid", ["grid_id"], unique=False)
    op.create_table(
        "iot_rule",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("device_type", sa.String(length=32), nullable=False),
        sa.Column("reading", sa.String(length=32), nullable=False),
        sa.Column("op", sa.String(length=8), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("threshold_high", sa.Float(), nullable=True),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("auto_close", sa.Boolean(), nullable=False),
        sa.Column("name_zh", sa.String(length=64), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["category_code"], ["category.code"], name=op.f("fk_iot_rule_category_code_category")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_rule")),
    )
    op.create_table(
        "iot_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("received_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("message_id", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("event_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["iot_device.id"], name=op.f("fk_iot_inbox_device_id_iot_device")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_inbox")),
    )
    with op.batch_alter_table("iot_inbox", schema=None) as batch_op:
        batch_op.create_index(
            "ix_iot_inbox_device_received", ["device_id", "received_at"], unique=False
        )
        batch_op.create_index(
            "ix_iot_inbox_device_message", ["device_id", "message_id"], unique=False
        )
        batch_op.create_index("ix_iot_inbox_received", ["received_at", "id"], unique=False)
    op.create_table(
        "iot_fold",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("category_code", sa.String(length=16), nullable=False),
        sa.Column("rule_id", sa.Integer(), nullable=True),
        sa.Column("auto_close", sa.Boolean(), nullable=False),
        sa.Column("alarm_count", sa.Integer(), nullable=False),
        sa.Column("first_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_readings", sa.JSON(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("recovered_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["device_id"], ["iot_device.id"], name=op.f("fk_iot_fold_device_id_iot_device")
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["event.id"], name=op.f("fk_iot_fold_event_id_event")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_iot_fold")),
    )
    with op.batch_alter_table("iot_fold", schema=None) as batch_op:
        batch_op.create_index("ix_iot_fold_device", ["device_id", "status"], unique=False)
        batch_op.create_index(
            "uq_iot_fold_open",
            ["device_id", "category_code"],
            unique=True,
            sqlite_where=sa.text("status = 'open'"),
            postgresql_where=sa.text("status = 'open'"),
        )
    op.create_table(
        "iot_quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("topic", sa.String(length=255), nullable=False),
        sa.Column("device_code", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("reason", sa.String(length=24), nullable=False),
        sa.Column("detail", sa.String(length=400), nullable=False),
        sa.Column("detail_zh", sa.String(length=400), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_iot_quarantine")),
    )
    with op.batch_alter_table("iot_quarantine", schema=None) as batch_op:
        batch_op.create_index("ix_iot_quarantine_at", ["at", "id"], unique=False)
        batch_op.create_index("ix_iot_quarantine_reason_at", ["reason", "at"], unique=False)


def downgrade() -> None:
    op.drop_table("iot_quarantine")
    op.drop_table("iot_fold")
    op.drop_table("iot_inbox")
    op.drop_table("iot_rule")
    op.drop_table("iot_device")

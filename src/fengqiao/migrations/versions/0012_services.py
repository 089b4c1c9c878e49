"""services: the service catalogue and proxy requests

Revision ID: 0012_services
Revises: 0011_cameras
Create Date: 2026-11-29 12:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0012_services"
down_revision: str | None = "0011_cameras"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OPEN_PENDING = "status IN ('requested', 'taken', 'submitted') AND reminded_at IS NULL"


def upgrade() -> None:
    op.create_table(
        "service_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("at_village", sa.Boolean(), nullable=False),
        sa.Column("at_town", sa.Boolean(), nullable=False),
        sa.Column("at_district", sa.Boolean(), nullable=False),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("materials", sa.JSON(), nullable=False),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("fee", sa.String(length=64), nullable=False),
        sa.Column("unit_type", sa.String(length=48), nullable=False),
        sa.Column("unit_name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("proxy_allowed", sa.Boolean(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("search_text", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_item")),
        sa.UniqueConstraint("code", name=op.f("uq_service_item_code")),
    )
    op.create_table(
        "proxy_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("item_name", sa.String(length=100), nullable=False),
        sa.Column("time_limit_days", sa.Integer(), nullable=False),
        sa.Column("resident_user_id", sa.Integer(), nullable=True),
        sa.Column("resident_name", sa.String(length=64), nullable=False),
        sa.Column("resident_phone", sa.String(length=32), nullable=False),
        sa.Column("resident_id_number", sa.String(length=18), nullable=True),
        sa.Column("grid_id", sa.Integer(), nullable=False),
        sa.Column("village_id", sa.Integer(), nullable=False),
        sa.Column("town_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=200), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column("created_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("submitted_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("due_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("yellow_at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("remind_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reminded_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("trail_seq", sa.Integer(), nullable=False),
        sa.Column("trail_hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"], ["user_account.id"],
            name=op.f("fk_proxy_request_created_by_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_id"], ["org_unit.id"], name=op.f("fk_proxy_request_grid_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["service_item.id"], name=op.f("fk_proxy_request_item_id_service_item")
        ),
        sa.ForeignKeyConstraint(
            ["resident_user_id"], ["user_account.id"],
            name=op.f("fk_proxy_request_resident_user_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["town_id"], ["org_unit.id"], name=op.f("fk_proxy_request_town_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["village_id"], ["org_unit.id"], name=op.f("fk_proxy_request_village_id_org_unit")
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"], ["user_account.id"],
            name=op.f("fk_proxy_request_worker_id_user_account"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_request")),
        sa.UniqueConstraint("code", name=op.f("uq_proxy_request_code")),
    )  # fmt: skip
    with op.batch_alter_table("proxy_request", schema=None) as batch_op:
        batch_op.create_index("ix_proxy_request_created", ["created_at", "id"], unique=False)
        batch_op.create_index(
            "ix_proxy_request_grid_created", ["grid_id", "created_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_proxy_request_item_id"), ["item_id"], unique=False)
        batch_op.create_index(
            "ix_proxy_request_reminder_pending",
            ["remind_at"],
            unique=False,
            sqlite_where=sa.text(OPEN_PENDING),
            postgresql_where=sa.text(OPEN_PENDING),
        )
        batch_op.create_index(
            "ix_proxy_request_resident_created", ["resident_user_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_proxy_request_town_created", ["town_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_proxy_request_village_created", ["village_id", "created_at"], unique=False
        )
    op.create_table(
        "proxy_request_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("at", fengqiao.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["user_account.id"],
            name=op.f("fk_proxy_request_log_actor_id_user_account"),
        ),
        sa.ForeignKeyConstraint(
            ["request_id"], ["proxy_request.id"],
            name=op.f("fk_proxy_request_log_request_id_proxy_request"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_proxy_request_log")),
        sa.UniqueConstraint("request_id", "seq", name="uq_proxy_request_log_seq"),
    )  # fmt: skip
    _search_index()
    _append_only_trail()


def _search_index() -> None:
    """Chinese full-text search: FTS5 trigram on SQLite (kept in step by triggers), pg_trgm GIN
    indexes on PostgreSQL. Written out here, frozen, rather than imported from the app."""
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE service_item_fts USING fts5(name, search_text, "
            "content='service_item', content_rowid='id', tokenize='trigram')"
        )
        op.execute(
            "CREATE TRIGGER service_item_fts_ai AFTER INSERT ON service_item BEGIN "
            "INSERT INTO service_item_fts(rowid, name, search_text) "
            "VALUES (new.id, new.name, new.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER service_item_fts_ad AFTER DELETE ON service_item BEGIN "
            "INSERT INTO service_item_fts(service_item_fts, rowid, name, search_text) "
            "VALUES ('delete', old.id, old.name, old.search_text); END"
        )
        op.execute(
            "CREATE TRIGGER service_item_fts_au AFTER UPDATE ON service_item BEGIN "
            "INSERT INTO service_item_fts(service_item_fts, rowid, name, search_text) "
            "VALUES ('delete', old.id, old.name, old.search_text); "
            "INSERT INTO service_item_fts(rowid, name, search_text) "
            "VALUES (new.id, new.name, new.search_text); END"
        )
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute(
        "CREATE INDEX ix_service_item_name_trgm ON service_item USING gin (name gin_trgm_ops)"
    )
    op.execute(
        "CREATE INDEX ix_service_item_search_trgm ON service_item "
        "USING gin (search_text gin_trgm_ops)"
    )


def _append_only_trail() -> None:
    """The proxy requests' trail is append-only in the database itself, like event_log."""
    if op.get_bind().dialect.name == "sqlite":
        for verb in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER proxy_request_log_no_{verb.lower()} BEFORE {verb} "
                "ON proxy_request_log "
                "BEGIN SELECT RAISE(ABORT, 'proxy_request_log is append-only'); END"
            )
        return
    op.execute(
        "CREATE FUNCTION proxy_request_log_append_only() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'proxy_request_log is append-only'; END $$"
    )
    op.execute(
        "CREATE TRIGGER proxy_request_log_append_only BEFORE UPDATE OR DELETE "
        "ON proxy_request_log FOR EACH ROW EXECUTE FUNCTION proxy_request_log_append_only()"
    )
    op.execute(
        "CREATE TRIGGER proxy_request_log_no_truncate BEFORE TRUNCATE ON proxy_request_log "
        "FOR EACH STATEMENT EXECUTE FUNCTION proxy_request_log_append_only()"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS proxy_request_log_no_update")
        op.execute("DROP TRIGGER IF EXISTS proxy_request_log_no_delete")
        for name in ("au", "ad", "ai"):
            op.execute(f"DROP TRIGGER IF EXISTS service_item_fts_{name}")
        op.execute("DROP TABLE IF EXISTS service_item_fts")
    else:
        op.execute("DROP TRIGGER IF EXISTS proxy_request_log_append_only ON proxy_request_log")
        op.execute("DROP TRIGGER IF EXISTS proxy_request_log_no_truncate ON proxy_request_log")
        op.execute("DROP FUNCTION IF EXISTS proxy_request_log_append_only()")
        op.execute("DROP INDEX IF EXISTS ix_service_item_search_trgm")
        op.execute("DROP INDEX IF EXISTS ix_service_item_name_trgm")
        # pg_trgm stays: other databases' objects may use it, and it costs nothing idle.
    op.drop_table("proxy_request_log")
    with op.batch_alter_table("proxy_request", schema=None) as batch_op:
        batch_op.drop_index("ix_proxy_request_village_created")
        batch_op.drop_index("ix_proxy_request_town_created")
        batch_op.drop_index("ix_proxy_request_resident_created")
        batch_op.drop_index(
            "ix_proxy_request_reminder_pending",
            sqlite_where=sa.text(OPEN_PENDING),
            postgresql_where=sa.text(OPEN_PENDING),
        )
        batch_op.drop_index(batch_op.f("ix_proxy_request_item_id"))
        batch_op.drop_index("ix_proxy_request_grid_created")
        batch_op.drop_index("ix_proxy_request_created")
    op.drop_table("proxy_request")
    op.drop_table("service_item")

"""district_id on the big tables; PostgreSQL's monthly partitions (issue 21, item 3)

Every big table gains `district_id` (FK org_unit.id, the ancestor of kind "district"), filled
from what the row already names: an event's town's parent, a trail row's event, a position's
grid's district, an outbox row's event, a rollup day row's town's parent. The trail gains
`filed_at` (its event's created_at), its partition key on PostgreSQL, and (event_id, seq,
filed_at) unique, which is (event_id, seq) unique since filed_at follows from event_id.

PostgreSQL only: `event_log` (by filed_at), `position` (by at) and the five rollup day tables (by
period) become range-partitioned by local month, each with a DEFAULT partition; rows are copied
over, the id sequences kept, the indexes, foreign keys and the trail's append-only triggers made
again on the partitioned tables. The outbox stays one table: its dedupe key must stay unique
across all time and `notification.outbox_id` references its id (docs/scaling.md).
SQLite keeps plain tables and only gains the columns.

Revision ID: 0040_partitions
Revises: 0038_annual
Create Date: 2026-12-06 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

import fengqiao.db
from fengqiao.partitions import (
    DAY_ROLLUPS,
    TABLES,
    Partitioned,
    add_months,
    create_sql,
    default_name,
    month_of,
    months_sql,
    yyyymm_month,
)

revision: str = "0040_partitions"
down_revision: str | None = "0039_province"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC_TIME = fengqiao.db.UTCDateTime(timezone=True)
# Months made ahead by the migration (the worker keeps `partition_months_ahead` from then on).
AHEAD = 3
PLAIN = ("event", "outbox", "position", *DAY_ROLLUPS)  # gain district_id by ADD COLUMN
# The district of each table's rows, from what the row already names (both backends).
TOWN_PARENT = "(SELECT o.parent_id FROM org_unit o WHERE o.id = {table}.town_id)"
GRID_DISTRICT = (
    "(SELECT t.parent_id FROM org_unit g JOIN org_unit v ON v.id = g.parent_id "
    "JOIN org_unit t ON t.id = v.parent_id WHERE g.id = position.grid_id)"
)
# A fix off every grid: its worker's home district (the online path does the same).
HOME_DISTRICT = (
    "(SELECT CASE h.kind WHEN 'district' THEN h.id WHEN 'town' THEN h.parent_id "
    "WHEN 'village' THEN (SELECT p.parent_id FROM org_unit p WHERE p.id = h.parent_id) "
    "WHEN 'grid' THEN (SELECT t.parent_id FROM org_unit v JOIN org_unit t ON t.id = v.parent_id "
    "WHERE v.id = h.parent_id) END "
    "FROM user_account u JOIN org_unit h ON h.id = u.home_org_id WHERE u.id = position.user_id)"
)
EVENT_DISTRICT = "(SELECT e.district_id FROM event e WHERE e.id = {table}.event_id)"
BACKFILL = {
    "event": TOWN_PARENT.format(table="event"),
    "outbox": EVENT_DISTRICT.format(table="outbox"),
    "position": f"COALESCE({GRID_DISTRICT}, {HOME_DISTRICT})",
    **{name: TOWN_PARENT.format(table=name) for name in DAY_ROLLUPS},
}


# SQLite cannot drop a column with a foreign key but by rebuilding the table, and rebuilding a
# table other tables reference fails its foreign-key check once they hold rows (the migrations
# run with foreign keys on, in a transaction, where the pragma cannot be turned off). Its
# downgrade leaves these two nullable columns in place; an upgrade again only fills them.
KEPT_ON_SQLITE = ("event", "outbox")


def _district_fk(table: str) -> str:
    return f"fk_{table}_district_id_org_unit"


def upgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in PLAIN:
        if "district_id" in {c["name"] for c in sa.inspect(op.get_bind()).get_columns(table)}:
            # Kept by SQLite's downgrade (see KEPT_ON_SQLITE): only filled again.
            op.execute(f"UPDATE {table} SET district_id = {BACKFILL[table]}")
            continue
        # Plain ADD COLUMN with a named inline foreign key, on SQLite too: the tables keep
        # their indexes and triggers (and SQLite its FTS) as they are.
        op.execute(
            f"ALTER TABLE {table} ADD COLUMN district_id INTEGER CONSTRAINT "
            f"{_district_fk(table)} REFERENCES org_unit (id)"
        )
        op.execute(f"UPDATE {table} SET district_id = {BACKFILL[table]}")  # event first
    op.create_index("ix_event_district_created", "event", ["district_id", "created_at", "id"])
    if sqlite:
        _sqlite_trail_up()
        return
    _postgres_trail_columns()
    now = datetime.now(UTC)
    for spec in TABLES:
        _partition(spec, now)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        _sqlite_trail_down()
    else:
        for spec in TABLES:
            _unpartition(spec)
        _postgres_trail_columns_down()
    op.drop_index("ix_event_district_created", table_name="event")
    for table in PLAIN:
        if sqlite and table in KEPT_ON_SQLITE:
            continue
        if sqlite:
            with op.batch_alter_table(table) as batch:
                batch.drop_column("district_id")
        else:
            op.drop_constraint(_district_fk(table), table, type_="foreignkey")
            op.drop_column(table, "district_id")


# --- SQLite: the trail's two columns and its wider unique key -----------------------------


def _sqlite_triggers(create: bool) -> None:
    for verb in ("UPDATE", "DELETE"):
        if create:
            op.execute(
                f"CREATE TRIGGER event_log_no_{verb.lower()} BEFORE {verb} ON event_log "
                "BEGIN SELECT RAISE(ABORT, 'event_log is append-only'); END"
            )
        else:
            op.execute(f"DROP TRIGGER IF EXISTS event_log_no_{verb.lower()}")


def _sqlite_trail_up() -> None:
    _sqlite_triggers(create=False)  # the backfill is an UPDATE; the rebuild copies the table
    op.add_column("event_log", sa.Column("filed_at", UTC_TIME, nullable=True))
    op.add_column("event_log", sa.Column("district_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE event_log SET filed_at = (SELECT created_at FROM event WHERE id = event_id), "
        "district_id = (SELECT district_id FROM event WHERE id = event_id)"
    )
    with op.batch_alter_table("event_log", recreate="always") as batch:
        batch.alter_column("filed_at", existing_type=UTC_TIME, nullable=False)
        batch.drop_constraint("uq_event_log_event_seq", type_="unique")
        batch.create_unique_constraint("uq_event_log_event_seq", ["event_id", "seq", "filed_at"])
        batch.create_foreign_key(_district_fk("event_log"), "org_unit", ["district_id"], ["id"])
    _sqlite_triggers(create=True)


def _sqlite_trail_down() -> None:
    _sqlite_triggers(create=False)
    with op.batch_alter_table("event_log", recreate="always") as batch:
        batch.drop_constraint("uq_event_log_event_seq", type_="unique")
        batch.drop_constraint(_district_fk("event_log"), type_="foreignkey")
        batch.drop_column("district_id")
        batch.drop_column("filed_at")
        batch.create_unique_constraint("uq_event_log_event_seq", ["event_id", "seq"])
    _sqlite_triggers(create=True)


# --- PostgreSQL: the trail's columns, then each table rebuilt partitioned -----------------

TRAIL_TRIGGERS = (
    "CREATE TRIGGER event_log_append_only BEFORE UPDATE OR DELETE ON event_log "
    "FOR EACH ROW EXECUTE FUNCTION event_log_append_only()",
    "CREATE TRIGGER event_log_no_truncate BEFORE TRUNCATE ON event_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION event_log_append_only()",
)


def _postgres_trail_columns() -> None:
    # Added while event_log is still a plain table; filled by the copy into the partitioned one
    # (an UPDATE would meet the append-only trigger).
    op.execute("ALTER TABLE event_log ADD COLUMN filed_at timestamptz")
    op.execute("ALTER TABLE event_log ADD COLUMN district_id integer")


def _postgres_trail_columns_down() -> None:
    op.execute("ALTER TABLE event_log DROP CONSTRAINT uq_event_log_event_seq")
    op.execute(f"ALTER TABLE event_log DROP CONSTRAINT {_district_fk('event_log')}")
    op.execute("ALTER TABLE event_log DROP COLUMN district_id, DROP COLUMN filed_at")
    op.execute("ALTER TABLE event_log ADD CONSTRAINT uq_event_log_event_seq UNIQUE (event_id, seq)")


def _definitions(table: str) -> tuple[list[str], list[tuple[str, str]], list[str], str | None]:
    """A table's plain index definitions, foreign keys, column names and id sequence."""
    bind = op.get_bind()
    indexes = [
        row[0].replace(" ON ONLY ", " ON ")
        for row in bind.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() "
            "AND tablename = %s AND indexname NOT IN "
            "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)",
            (table, table),
        )
    ]
    fks = [
        (row[0], row[1])
        for row in bind.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
            (table,),
        )
    ]
    columns = [
        row[0]
        for row in bind.exec_driver_sql(
            "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
            "AND NOT attisdropped ORDER BY attnum",
            (table,),
        )
    ]
    sequence = (
        bind.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'id')", (table,)).scalar()
        if "id" in columns
        else None
    )
    return indexes, fks, columns, sequence


def _keys(table: str) -> list[str]:
    """The primary key and unique constraints of a table, as ADD CONSTRAINT clauses."""
    return [
        f"ADD CONSTRAINT {row[0]} {row[1]}"
        for row in op.get_bind().exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = %s::regclass AND contype IN ('p', 'u') ORDER BY contype, conname",
            (table,),
        )
    ]


def _rebuild(
    spec: Partitioned,
    *,
    partitioned: bool,
    keys: list[str],
    fill: dict[str, str],
    months: list[str],
) -> None:
    """Copy `spec.table` into a new table of the same columns (partitioned by month or plain),
    keeping its id sequence, indexes and foreign keys; `keys` are its new PK and uniques."""
    table, old = spec.table, f"{spec.table}_rebuilt"
    indexes, fks, columns, sequence = _definitions(table)
    op.execute(f"ALTER TABLE {table} RENAME TO {old}")
    by = f" PARTITION BY RANGE ({spec.key})" if partitioned else ""
    op.execute(f"CREATE TABLE {table} (LIKE {old} INCLUDING DEFAULTS){by}")
    if sequence is not None:
        op.execute(f"ALTER SEQUENCE {sequence} OWNED BY {table}.id")
    for statement in months:
        op.execute(statement)
    names = ", ".join(columns)
    values = ", ".join(fill.get(c, c) for c in columns)
    op.execute(f"INSERT INTO {table} ({names}) SELECT {values} FROM {old}")
    op.execute(f"DROP TABLE {old}")
    for clause in keys:
        op.execute(f"ALTER TABLE {table} {clause}")
    for name, definition in fks:
        op.execute(f"ALTER TABLE {table} ADD CONSTRAINT {name} {definition}")
    for definition in indexes:
        op.execute(definition.replace(f" ON {old} ", f" ON {table} ").replace(
            f" ON public.{old} ", f" ON public.{table} "
        ))  # fmt: skip


def _partition(spec: Partitioned, now: datetime) -> None:
    """Turn one table into its partitioned self, with a partition per month of its rows and
    the months around now, and the default partition."""
    table = spec.table
    fill: dict[str, str] = {}
    source = table
    if table == "event_log":
        fill = {
            "filed_at": "(SELECT e.created_at FROM event e WHERE e.id = event_log_rebuilt.event_id)",
            "district_id": "(SELECT e.district_id FROM event e "
            "WHERE e.id = event_log_rebuilt.event_id)",
        }
        source = (
            "(SELECT e.created_at AS filed_at FROM event_log l JOIN event e ON e.id = l.event_id)"
            " AS rows"
        )
    found = {
        yyyymm_month(int(row[0]))
        for row in op.get_bind().exec_driver_sql(months_sql(spec, source))
        if row[0] is not None
    }
    current = month_of(now)
    wanted = sorted(found | {add_months(current, n) for n in range(-1, AHEAD + 1)})
    keys = _keys(table)
    if table == "event_log":
        keys = [
            "ADD CONSTRAINT pk_event_log PRIMARY KEY (id, filed_at)",
            "ADD CONSTRAINT uq_event_log_event_seq UNIQUE (event_id, seq, filed_at)",
            "ALTER COLUMN filed_at SET NOT NULL",
        ]
    elif table == "position":
        keys = ["ADD CONSTRAINT pk_position PRIMARY KEY (id, at)"]
    months = [create_sql(spec, month) for month in wanted]
    months.append(f"CREATE TABLE {default_name(table)} PARTITION OF {table} DEFAULT")
    _rebuild(spec, partitioned=True, keys=keys, fill=fill, months=months)
    if table == "event_log":
        op.execute(
            f"ALTER TABLE event_log ADD CONSTRAINT {_district_fk('event_log')} "
            "FOREIGN KEY (district_id) REFERENCES org_unit (id)"
        )
        for statement in TRAIL_TRIGGERS:
            op.execute(statement)


def _unpartition(spec: Partitioned) -> None:
    """The partitioned table back to one plain table (the downgrade)."""
    table = spec.table
    keys = _keys(table)
    if table == "event_log":
        keys = [
            "ADD CONSTRAINT pk_event_log PRIMARY KEY (id)",
            "ADD CONSTRAINT uq_event_log_event_seq UNIQUE (event_id, seq, filed_at)",
        ]
    elif table == "position":
        keys = ["ADD CONSTRAINT pk_position PRIMARY KEY (id)"]
    _rebuild(spec, partitioned=False, keys=keys, fill={}, months=[])
    if table == "event_log":
        for statement in TRAIL_TRIGGERS:
            op.execute(statement)

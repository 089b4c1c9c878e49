"""search: the one search box's text indexes over places, units, map points and events

Revision ID: 0027_search
Revises: 0026_basemap
Create Date: 2026-12-05 21:00:00.000000

SQLite: one FTS5 trigram table per searched table, kept in step by triggers (an update
re-indexes a row only when a searched column changes, so an event's status changes cost the
index nothing). The map points' address lives in their JSON props, so their FTS table keeps its
own copy; the others read the row from the table itself (external content). PostgreSQL: pg_trgm
GIN indexes on the same columns. Written out here, frozen, rather than imported from the app.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0027_search"
down_revision: str | None = "0026_basemap"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# table -> the searched columns, as read from the row (SQL over `new.` / `old.`).
EXTERNAL = {
    "org_unit": ("name", "code"),
    "unit": ("name", "code"),
    # Event codes are found by their prefix (the unique index); only addresses need the text.
    "event": ("address",),
}
ADDRESS = "json_extract({row}.props, '$.address')"
POSTGRES_INDEXES = {
    "ix_org_unit_name_trgm": ("org_unit", "name"),
    "ix_org_unit_code_trgm": ("org_unit", "code"),
    "ix_unit_name_trgm": ("unit", "name"),
    "ix_unit_code_trgm": ("unit", "code"),
    "ix_event_address_trgm": ("event", "address"),
}
# Places and cameras apart, as on SQLite: partial indexes by kind.
POSTGRES_FEATURE_INDEXES = {
    "ix_place_name_trgm": ("name", "kind <> 'camera'"),
    "ix_place_address_trgm": ("(props->>'address')", "kind <> 'camera'"),
    "ix_camera_name_trgm": ("name", "kind = 'camera'"),
    "ix_camera_code_trgm": ("code", "kind = 'camera'"),
}

# Names that start with what was typed (a one- or two-character query, and the exact and prefix
# matches ranked first): a plain index; on PostgreSQL with text_pattern_ops, which serves LIKE
# 'q%' whatever the database's collation (event codes too, whose unique index does not).
PREFIX_INDEXES = {
    "ix_org_unit_name_prefix": ("org_unit", "name"),
    "ix_unit_name_prefix": ("unit", "name"),
    "ix_layer_feature_name_prefix": ("layer_feature", "name"),
}
# Codes typed as digits (a grid's, a camera's id) are hierarchical: PostgreSQL finds them by
# prefix, where a trigram index would return every code that shares the district's digits.
POSTGRES_PREFIX_INDEXES = {
    **PREFIX_INDEXES,
    "ix_event_code_prefix": ("event", "code"),
    "ix_org_unit_code_prefix": ("org_unit", "code"),
    "ix_layer_feature_code_prefix": ("layer_feature", "code"),
}


def _external(table: str, columns: tuple[str, ...]) -> None:
    fts = f"{table}_fts"
    names = ", ".join(columns)
    new = ", ".join(f"new.{c}" for c in columns)
    old = ", ".join(f"old.{c}" for c in columns)
    op.execute(
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, content='{table}', "
        "content_rowid='id', tokenize='trigram')"
    )
    add = f"INSERT INTO {fts}(rowid, {names}) VALUES (new.id, {new});"
    remove = f"INSERT INTO {fts}({fts}, rowid, {names}) VALUES ('delete', old.id, {old});"
    op.execute(f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {table} BEGIN {add} END")
    op.execute(f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {table} BEGIN {remove} END")
    op.execute(
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {names} ON {table} BEGIN {remove} {add} END"
    )
    op.execute(f"INSERT INTO {fts}({fts}) VALUES ('rebuild')")


def _features() -> None:
    """Places and cameras in FTS tables of their own (a code prefix every camera shares must not
    make a place search wade through 30,000 cameras), each keeping its own copy of the text."""
    address = ADDRESS.format(row="{row}")
    tables = {
        "place_fts": ("kind <> 'camera'", ("name", f"coalesce({address}, '')"), "name, address"),
        "camera_fts": ("kind = 'camera'", ("name", "coalesce({row}.code, '')"), "name, code"),
    }
    adds, removes = [], []
    for fts, (where, values, names) in tables.items():
        op.execute(f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, tokenize='trigram')")

        def row_values(row: str, values: tuple[str, ...] = values) -> str:
            parts = [v.format(row=row) if "{row}" in v else f"{row}.{v}" for v in values]
            return ", ".join([f"{row}.id", *parts])

        condition = where.replace("kind", "new.kind")
        adds.append(
            f"INSERT INTO {fts}(rowid, {names}) SELECT {row_values('new')} WHERE {condition};"
        )
        removes.append(f"DELETE FROM {fts} WHERE rowid = old.id;")
        op.execute(
            f"INSERT INTO {fts}(rowid, {names}) SELECT {row_values('layer_feature')} "
            f"FROM layer_feature WHERE {where}"
        )
    add, remove = " ".join(adds), " ".join(removes)
    op.execute(f"CREATE TRIGGER layer_feature_fts_ai AFTER INSERT ON layer_feature BEGIN {add} END")
    op.execute(
        f"CREATE TRIGGER layer_feature_fts_ad AFTER DELETE ON layer_feature BEGIN {remove} END"
    )
    op.execute(
        "CREATE TRIGGER layer_feature_fts_au AFTER UPDATE OF kind, name, code, props "
        f"ON layer_feature BEGIN {remove} {add} END"
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for table, columns in EXTERNAL.items():
            _external(table, columns)
        _features()
        for name, (table, column) in PREFIX_INDEXES.items():
            op.execute(f"CREATE INDEX {name} ON {table} ({column})")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in POSTGRES_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} USING gin (({column}) gin_trgm_ops)")
    for name, (column, where) in POSTGRES_FEATURE_INDEXES.items():
        op.execute(
            f"CREATE INDEX {name} ON layer_feature USING gin (({column}) gin_trgm_ops) "
            f"WHERE {where}"
        )
    for name, (table, column) in POSTGRES_PREFIX_INDEXES.items():
        op.execute(f"CREATE INDEX {name} ON {table} ({column} text_pattern_ops)")


def downgrade() -> None:
    for name in POSTGRES_PREFIX_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if op.get_bind().dialect.name == "sqlite":
        for table in (*EXTERNAL, "layer_feature"):
            for name in ("au", "ad", "ai"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_fts_{name}")
        for fts in (*(f"{table}_fts" for table in EXTERNAL), "place_fts", "camera_fts"):
            op.execute(f"DROP TABLE IF EXISTS {fts}")
        return
    for name in (*POSTGRES_INDEXES, *POSTGRES_FEATURE_INDEXES):
        op.execute(f"DROP INDEX IF EXISTS {name}")

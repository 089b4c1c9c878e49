"""The text indexes the one search box reads: their names, made by migration 0028 by hand.

SQLite has an FTS5 trigram table per searched table (and its shadow tables, and triggers that
keep it in step); PostgreSQL has pg_trgm GIN indexes. None of them has a model, so schema
comparison leaves them out.
"""

from __future__ import annotations

FTS_TABLES = ("org_unit_fts", "unit_fts", "event_fts", "place_fts", "camera_fts")
_SHADOWS = ("data", "idx", "docsize", "config", "content")
TRGM_INDEXES = (
    "ix_org_unit_name_trgm", "ix_org_unit_code_trgm", "ix_unit_name_trgm", "ix_unit_code_trgm",
    "ix_event_address_trgm", "ix_place_name_trgm", "ix_place_address_trgm",
    "ix_camera_name_trgm", "ix_camera_code_trgm",
)  # fmt: skip
# Plain (PostgreSQL: text_pattern_ops) indexes for names that start with the query.
PREFIX_INDEXES = (
    "ix_org_unit_name_prefix", "ix_unit_name_prefix", "ix_layer_feature_name_prefix",
    "ix_event_code_prefix", "ix_org_unit_code_prefix", "ix_layer_feature_code_prefix",
)  # fmt: skip
SEARCH_OBJECTS = frozenset(
    {
        *FTS_TABLES,
        *(f"{table}_{shadow}" for table in FTS_TABLES for shadow in _SHADOWS),
        *TRGM_INDEXES,
        *PREFIX_INDEXES,
    }
)

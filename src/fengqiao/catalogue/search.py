"""Full-text search of the service catalogue in Chinese, on SQLite and PostgreSQL alike.

SQLite: an FTS5 table with the `trigram` tokenizer over (name, search_text), kept in step with
`service_item` by triggers made in the migration. PostgreSQL: pg_trgm GIN indexes on the same
two columns, queried with ILIKE. Either way a query is split on spaces into terms that must all
appear (in the name or the other text); rows whose name holds every term rank first, then by
relevance (bm25 on SQLite, trigram similarity on PostgreSQL), then by code.

A trigram index needs at least three characters: FTS5 finds nothing for a shorter term, so a
query with a one- or two-character term (社保, 低保) is answered by a LIKE scan over the
catalogue, which has a few hundred rows at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal_column, or_, select, text
from sqlalchemy.orm import Session

from fengqiao.catalogue.models import ServiceItem

FTS_TABLE = "service_item_fts"
# The objects the migration makes by hand (FTS5 and its shadow tables on SQLite, trigram GIN
# indexes on PostgreSQL); they have no model, so schema comparison leaves them out.
SEARCH_OBJECTS = frozenset(
    {
        FTS_TABLE,
        *(f"{FTS_TABLE}_{shadow}" for shadow in ("data", "idx", "docsize", "config", "content")),
        "ix_service_item_name_trgm",
        "ix_service_item_search_trgm",
    }
)
TRIGRAM = 3
MAX_TERMS = 8
MAX_QUERY_CHARS = 100


def terms_of(query: str) -> list[str]:
    """The query's terms: split on white space and punctuation-like separators, deduplicated."""
    parts = re.split(r"[\s,，、;；]+", query.strip())
    seen: list[str] = []
    for part in parts:
        if part and part not in seen:
            seen.append(part)
    return seen[:MAX_TERMS]


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _fts_phrase(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


@dataclass(frozen=True)
class Hit:
    """One found item and whether its name matched every term."""

    item: ServiceItem
    name_match: bool


@dataclass(frozen=True)
class Filters:
    """What narrows a search besides its words."""

    include_inactive: bool = False
    level: str | None = None
    category: str | None = None
    proxy_only: bool = False

    def apply(self, statement: Select[Any]) -> Select[Any]:
        if not self.include_inactive:
            statement = statement.where(ServiceItem.is_active.is_(True))
        if self.level:
            statement = statement.where(getattr(ServiceItem, _LEVEL_COLUMN[self.level]).is_(True))
        if self.category:
            statement = statement.where(ServiceItem.category == self.category)
        if self.proxy_only:
            statement = statement.where(ServiceItem.proxy_allowed.is_(True))
        return statement


_LEVEL_COLUMN = {
    "village": "at_village",
    "town": "at_town",
    "district": "at_district",
    "online": "online",
}


def _name_has_all(terms: list[str], *, ilike: bool) -> ColumnElement[bool]:
    column = ServiceItem.name
    return and_(
        *(
            (column.ilike(_like(t), escape="\\") if ilike else column.like(_like(t), escape="\\"))
            for t in terms
        )
    )


def _any_has_all(terms: list[str], *, ilike: bool) -> ColumnElement[bool]:
    clauses = []
    for term in terms:
        pattern = _like(term)
        if ilike:
            clauses.append(
                or_(
                    ServiceItem.name.ilike(pattern, escape="\\"),
                    ServiceItem.search_text.ilike(pattern, escape="\\"),
                )
            )
        else:
            clauses.append(
                or_(
                    ServiceItem.name.like(pattern, escape="\\"),
                    ServiceItem.search_text.like(pattern, escape="\\"),
                )
            )
    return and_(*clauses)


def search(
    db: Session,
    query: str,
    *,
    limit: int = 50,
    offset: int = 0,
    include_inactive: bool = False,
    level: str | None = None,
    category: str | None = None,
    proxy_only: bool = False,
) -> tuple[list[Hit], int]:
    """Items matching every term of `query`, best first, and how many match in all.

    An empty query lists the catalogue in code order.
    """
    terms = terms_of(query[:MAX_QUERY_CHARS])
    opts = Filters(include_inactive, level, category, proxy_only)
    if not terms:
        base = opts.apply(select(ServiceItem))
        total = db.scalar(select(func.count()).select_from(base.subquery())) or 0
        rows = db.scalars(base.order_by(ServiceItem.code).offset(offset).limit(limit)).all()
        return [Hit(item, False) for item in rows], total
    dialect = db.get_bind().dialect.name
    if dialect == "postgresql":
        return _search_postgresql(db, terms, limit=limit, offset=offset, opts=opts)
    if all(len(t) >= TRIGRAM for t in terms):
        return _search_fts(db, terms, limit=limit, offset=offset, opts=opts)
    return _search_like(db, terms, limit=limit, offset=offset, opts=opts)


def _page(db: Session, statement: Select[Any], *, limit: int, offset: int) -> tuple[list[Hit], int]:
    """One page and the total in one round trip (a window count); a page past the end counts
    separately."""
    rows = db.execute(
        statement.add_columns(func.count().over().label("total")).offset(offset).limit(limit)
    ).all()
    if rows:
        total = int(rows[0][-1])
    else:
        total = (
            db.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
        )
    return [Hit(row[0], bool(row[1])) for row in rows], total


def _search_fts(
    db: Session, terms: list[str], *, limit: int, offset: int, opts: Filters
) -> tuple[list[Hit], int]:
    """SQLite: the FTS5 trigram index finds the rows, bm25 ranks them (the name weighs 10×)."""
    match = " AND ".join(_fts_phrase(t) for t in terms)
    fts = (
        select(
            literal_column("rowid").label("item_id"),
            literal_column(f"bm25({FTS_TABLE}, 10.0, 1.0)").label("rank"),
        )
        .select_from(text(FTS_TABLE))
        .where(literal_column(FTS_TABLE).op("MATCH")(match))
        .subquery("fts")
    )
    name_match = _name_has_all(terms, ilike=False)
    statement = (
        select(ServiceItem, case((name_match, True), else_=False).label("name_match"))
        .join(fts, fts.c.item_id == ServiceItem.id)
        .order_by(case((name_match, 0), else_=1), fts.c.rank, ServiceItem.code)
    )
    statement = opts.apply(statement)
    return _page(db, statement, limit=limit, offset=offset)


def _search_like(
    db: Session, terms: list[str], *, limit: int, offset: int, opts: Filters
) -> tuple[list[Hit], int]:
    """SQLite, a term under three characters: a LIKE scan of the (small) catalogue."""
    name_match = _name_has_all(terms, ilike=False)
    statement = (
        select(ServiceItem, case((name_match, True), else_=False).label("name_match"))
        .where(_any_has_all(terms, ilike=False))
        .order_by(
            case((name_match, 0), else_=1),
            func.length(ServiceItem.name),
            ServiceItem.code,
        )
    )
    statement = opts.apply(statement)
    return _page(db, statement, limit=limit, offset=offset)


def _search_postgresql(
    db: Session, terms: list[str], *, limit: int, offset: int, opts: Filters
) -> tuple[list[Hit], int]:
    """PostgreSQL: ILIKE served by the pg_trgm GIN indexes, ranked by trigram similarity."""
    name_match = _name_has_all(terms, ilike=True)
    joined = " ".join(terms)
    statement = (
        select(ServiceItem, case((name_match, True), else_=False).label("name_match"))
        .where(_any_has_all(terms, ilike=True))
        .order_by(
            case((name_match, 0), else_=1),
            func.similarity(ServiceItem.name, joined).desc(),
            func.similarity(ServiceItem.search_text, joined).desc(),
            ServiceItem.code,
        )
    )
    statement = opts.apply(statement)
    return _page(db, statement, limit=limit, offset=offset)


def mode_of(db: Session, query: str) -> str:
    """How `search` answers `query`: list, fts (trigram index), like (short terms) or trgm."""
    terms = terms_of(query[:MAX_QUERY_CHARS])
    if not terms:
        return "list"
    if db.get_bind().dialect.name == "postgresql":
        return "trgm"
    return "fts" if all(len(t) >= TRIGRAM for t in terms) else "like"


def like_scan(db: Session, query: str, *, limit: int = 50) -> list[ServiceItem]:
    """The baseline the benchmark compares with: a plain LIKE over both columns, no ranking."""
    terms = terms_of(query) or [""]
    statement = select(ServiceItem).where(_any_has_all(terms, ilike=False)).limit(limit)
    return list(db.scalars(statement))

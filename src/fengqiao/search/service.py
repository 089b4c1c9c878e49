"""The one search box: areas (province, city, district, town, village, grid) by name or code, units, places (hospitals,
schools, enterprises, …), cameras and events by code or address, grouped by kind and ranked.

A query whose every term has three characters or more is answered by the text indexes (FTS5
trigram on SQLite, pg_trgm on PostgreSQL, made by migration 0028). A shorter term cannot use a
trigram index, so a one- or two-character query is a prefix match on names (and on event codes,
through the code's unique index). Areas, units and places are public to any staff; cameras and
events are filtered to the caller's scope.

Ranking within a kind: an exact name first, then names that start with the query (a plain
index each), then the text index's matches by where in the name the query stands, then the
shorter name. Events: a code match
first, then the newest, so a road's name finds this week's events before last year's.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

from sqlalchemy import (
    Integer,
    String,
    and_,
    bindparam,
    case,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.orm import Session

from fengqiao.cameras.models import Camera
from fengqiao.errors import invalid
from fengqiao.events.models import Event
from fengqiao.events.scope import event_scope, home_ids
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.scope import Principal

KINDS = ("area", "place", "unit", "camera", "event")
KIND_ZH = {"area": "区域", "place": "地点", "unit": "单位", "camera": "摄像机", "event": "事件"}
# The kinds of point a place (POI) may be: the map layers' kinds less cameras and sensors.
PLACE_KIND_ZH = {
    "hospital": "医院", "school": "学校", "enterprise": "企业", "emergency_resource": "应急物资点",
    "building": "楼宇", "hydrant": "消火栓",
}  # fmt: skip
# Every level of the tree: a province's or city's staff look for a district or city by name.
AREA_KINDS = ("province", "city", "district", "town", "village", "grid")
# Units of these kinds on the caller's own home path are left out of a result's place words
# (every result of theirs lies in them); a town or village of the path still shows.
_COMMON_KINDS = frozenset({"province", "city", "district"})
# Map points that are not places a person looks for by name.
NOT_PLACES = ("camera", "iot_device")
MAX_QUERY_CHARS = 64
MAX_TERMS = 4
TRIGRAM = 3
PER_KIND = 5
MAX_PER_KIND = 10
CANDIDATES = 200
_LAST_CHAR = "\U0010ffff"


@dataclass(frozen=True)
class Found:
    """One suggestion: what it is, where it is, and what tells it apart from its namesakes."""

    kind: str  # area, place, unit, camera, event
    sub: (
        str  # town/village/grid, hospital/school/…, a unit's category, a camera's or event's status
    )
    id: int
    name: str
    detail: str
    code: str | None
    lat: float | None
    lng: float | None
    bbox: tuple[float, float, float, float] | None = None  # min lng, min lat, max lng, max lat
    # Where its detail's place words come from, filled in by `search` with one query for all:
    # the org path, and whether its last unit (the area itself) is left out.
    path: str | None = field(default=None, repr=False)
    path_skips_last: bool = field(default=False, repr=False)


@dataclass(frozen=True)
class Query:
    """A checked query: its text, its terms, and whether the trigram indexes can answer it."""

    text: str
    terms: tuple[str, ...]
    postgres: bool

    @property
    def indexed(self) -> bool:
        return all(len(term) >= TRIGRAM for term in self.terms)

    @property
    def mode(self) -> str:
        """trgm or fts (the text indexes), or prefix (a term under three characters)."""
        if not self.indexed:
            return "prefix"
        return "trgm" if self.postgres else "fts"


def parse(q: str | None, *, postgres: bool) -> Query:
    """The query's terms (split on spaces), or a 422 naming `q` when it is empty or too long."""
    value = (q or "").strip()
    if not value:
        raise invalid("q", "type at least one character", "请至少输入一个字")
    if len(value) > MAX_QUERY_CHARS:
        raise invalid(
            "q",
            f"at most {MAX_QUERY_CHARS} characters",
            f"最多 {MAX_QUERY_CHARS} 个字",
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in value):  # NUL ends an FTS5 query
        raise invalid("q", "no control characters", "不能包含控制字符")
    terms = tuple(dict.fromkeys(re.split(r"[\s,，、]+", value)))
    terms = tuple(t for t in terms if t)[:MAX_TERMS]
    return Query(text=value, terms=terms, postgres=postgres)


def _like(term: str, *, prefix: bool = False) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"{escaped}%" if prefix else f"%{escaped}%"


def _fts_match(terms: Sequence[str]) -> str:
    return " AND ".join('"' + t.replace('"', '""') + '"' for t in terms)


def _fts_ids(fts: str) -> Any:
    """SQLite: the rowids an FTS5 trigram table matches `:match` (streamed: no rank first)."""
    return (
        select(literal_column("rowid").label("id"))
        .select_from(text(fts))
        .where(literal_column(fts).op("MATCH")(bindparam("match", type_=String)))
        .subquery(f"{fts}_hits")
    )


def _run(db: Session, statement: Any, params: dict[str, Any]) -> list[Any]:
    """Rows through the session's connection: Core execution, without the ORM's per-statement
    work (the columns are plain, no objects are loaded)."""
    return list(db.connection().execute(statement, params))


@dataclass(frozen=True)
class _Shapes:
    """The two statements of one kind's search, built once per shape with bound parameters:
    building SQLAlchemy statements per request cost more than running them."""

    by_name: Any
    ranked: Any


_SHAPES: dict[tuple[Any, ...], _Shapes] = {}


def _shapes(
    statement: Any, *, fts: str, key: Any, name: Any, columns: Sequence[Any], query: Query,
    seen: bool, code: Any = None,
) -> _Shapes:  # fmt: skip
    """Names starting with `:q` (the exact one first); then the text index's matches."""
    digits = query.postgres and code is not None and query.text.isascii() and query.text.isdigit()
    shape = (id(statement), fts, query.postgres, len(query.terms), seen, len(columns), digits)
    cached = _SHAPES.get(shape)
    if cached is not None:
        return cached
    q: Any = bindparam("q", type_=String)
    if query.postgres:  # LIKE 'q%' on the text_pattern_ops index, whatever the collation
        prefix = name.like(bindparam("q_prefix", type_=String), escape="\\")
    else:  # a range on a plain index: binary order is code-point order
        prefix = and_(name >= q, name < bindparam("q_end", type_=String))
    exact = case((name == q, 0), else_=1)
    by_name = (
        statement.where(prefix)
        .order_by(exact, func.length(name), key)
        .limit(bindparam("n", type_=Integer))
    )
    if digits:  # a code typed as digits: its prefix, on the code's text_pattern_ops index
        matched = statement.where(code.like(bindparam("q_prefix", type_=String), escape="\\"))
        position = func.strpos(name, bindparam("first", type_=String))
    elif query.postgres:
        each = [
            or_(*(c.ilike(bindparam(f"t{i}", type_=String), escape="\\") for c in columns))
            for i in range(len(query.terms))
        ]
        matched = statement.where(and_(*each))
        position = func.strpos(name, bindparam("first", type_=String))
    else:
        hits = _fts_ids(fts)
        matched = statement.join(hits, hits.c.id == key)
        position = func.instr(name, bindparam("first", type_=String))
    if seen:
        matched = matched.where(key.not_in(bindparam("seen", expanding=True)))
    candidates = matched.add_columns(position.label("position")).limit(CANDIDATES).subquery()
    at = candidates.c.position
    ranked = (
        select(*(c for c in candidates.c if c.name != "position"))
        .order_by(case((at > 0, at), else_=MAX_QUERY_CHARS * 8), func.length(candidates.c.name))
        .order_by(candidates.c.id)
        .limit(bindparam("n", type_=Integer))
    )
    _SHAPES[shape] = built = _Shapes(by_name, ranked)
    return built


def _find(
    db: Session,
    statement: Any,
    *,
    fts: str,
    key: Any,
    name: Any,
    columns: Sequence[Any],
    query: Query,
    limit: int,
    params: dict[str, Any] | None = None,
    code: Any = None,
) -> list[Any]:
    """The rows of `statement` (built once: its identity keys the shapes) that match, best
    first (see the module): names starting with the query, the exact one first; then, for a
    query the indexes can answer, the first CANDIDATES rows the text index gives (within the
    statement's filters), ranked by where in the name the query stands (a match in the code or
    address only comes after), then the shorter name. Relevance scores (bm25, similarity) would
    need every match scored before a limit applies, and a code prefix all 30,000 cameras share
    matches every one."""
    values: dict[str, Any] = {
        **(params or {}), "q": query.text, "q_end": query.text + _LAST_CHAR,
        "q_prefix": _like(query.text, prefix=True), "n": limit,
    }  # fmt: skip
    first = _shapes(
        statement,
        fts=fts,
        key=key,
        name=name,
        columns=columns,
        query=query,
        seen=False,
        code=code,
    )
    rows = _run(db, first.by_name, values)
    if len(rows) >= limit or not query.indexed:
        return rows
    shapes = _shapes(
        statement,
        fts=fts,
        key=key,
        name=name,
        columns=columns,
        query=query,
        seen=bool(rows),
        code=code,
    )
    values.update(
        {f"t{i}": _like(t) for i, t in enumerate(query.terms)},
        match=_fts_match(query.terms), first=query.terms[0], n=limit - len(rows),
        seen=[row.id for row in rows],
    )  # fmt: skip
    return rows + _run(db, shapes.ranked, values)


def _center(
    row: Any,
) -> tuple[float | None, float | None, tuple[float, float, float, float] | None]:
    if row.min_lng is None or row.max_lng is None:
        return None, None, None
    bbox = (row.min_lng, row.min_lat, row.max_lng, row.max_lat)
    return (row.min_lat + row.max_lat) / 2, (row.min_lng + row.max_lng) / 2, bbox


def _names_of(db: Session, paths: Sequence[str], principal: Principal) -> dict[int, str]:
    """The names of the units on these paths, less the province, city or district the caller
    sits in (a district's staff read "柯桥街道 某村", a province's "绍兴市 柯桥区 柯桥街道 某村")."""
    ids = {int(p) for path in paths for p in path.strip("/").split("/") if p}
    if not ids:
        return {}
    home = {int(p) for p in principal.home_path.strip("/").split("/") if p}
    rows = _run(db, select(OrgUnit.id, OrgUnit.name, OrgUnit.kind).where(OrgUnit.id.in_(ids)), {})
    return {row.id: row.name for row in rows if not (row.kind in _COMMON_KINDS and row.id in home)}


def _place_words(names: dict[int, str], path: str, *, skip_last: bool) -> str:
    ids = [int(p) for p in path.strip("/").split("/") if p]
    if skip_last:
        ids = ids[:-1]
    return " ".join(names[i] for i in ids if i in names)


def areas(
    db: Session,
    query: Query,
    limit: int,
    principal: Principal | None = None,
    kinds: tuple[str, ...] = AREA_KINDS,
) -> list[Found]:
    """Areas in force at every level (province, city, district, town, village, grid), by name
    or code; less the province, city or district on the caller's home path (where they
    already are: a district's staff typing 柯 want 柯桥街道, not their own 柯桥区)."""
    home = {int(p) for p in principal.home_path.strip("/").split("/") if p} if principal else set()
    rows = _find(
        db, _area_rows(kinds), fts="org_unit_fts", key=OrgUnit.id, name=OrgUnit.name,
        columns=(OrgUnit.name, OrgUnit.code), query=query, limit=limit + len(home),
        code=OrgUnit.code,
    )  # fmt: skip
    found = []
    kept = [r for r in rows if not (r.id in home and r.kind in _COMMON_KINDS)][:limit]
    for row in kept:
        lat, lng, bbox = _center(row)
        found.append(
            Found(
                "area",
                row.kind,
                row.id,
                row.name,
                "",
                row.code,
                lat,
                lng,
                bbox,
                path=row.path,
                path_skips_last=True,
            )
        )
    return found


@cache
def _area_rows(kinds: tuple[str, ...]) -> Any:
    return select(
        OrgUnit.id, OrgUnit.kind, OrgUnit.name, OrgUnit.code, OrgUnit.path, OrgUnit.min_lng,
        OrgUnit.min_lat, OrgUnit.max_lng, OrgUnit.max_lat,
    ).where(OrgUnit.kind.in_(kinds), OrgUnit.valid_to.is_(None))  # fmt: skip


def units(db: Session, query: Query, limit: int) -> list[Found]:
    """Active units (departments, offices, committees), placed on the area they serve."""
    rows = _find(
        db, _unit_rows(), fts="unit_fts", key=Unit.id, name=Unit.name,
        columns=(Unit.name, Unit.code), query=query, limit=limit,
    )  # fmt: skip
    found = []
    for row in rows:
        lat, lng, bbox = _center(row)
        found.append(
            Found("unit", row.category, row.id, row.name, row.area, row.code, lat, lng, bbox)
        )
    return found


@cache
def _unit_rows() -> Any:
    return (
        select(
            Unit.id, Unit.name, Unit.code, Unit.category, OrgUnit.name.label("area"),
            OrgUnit.min_lng, OrgUnit.min_lat, OrgUnit.max_lng, OrgUnit.max_lat,
        )
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(Unit.active.is_(True))
    )  # fmt: skip


def places(db: Session, query: Query, limit: int) -> list[Found]:
    """Points of interest by name or address: hospitals, schools, enterprises, …"""
    rows = _find(
        db, _place_rows(), fts="place_fts", key=LayerFeature.id, name=LayerFeature.name,
        columns=(LayerFeature.name, LayerFeature.props["address"].as_string()), query=query,
        limit=limit,
    )  # fmt: skip
    found = []
    for row in rows:
        address = (row.props or {}).get("address") or ""
        where = None if address else row.path
        found.append(
            Found(
                "place",
                row.kind,
                row.id,
                row.name,
                address,
                row.code,
                row.lat,
                row.lng,
                path=where,
            )
        )
    return found


@cache
def _place_rows() -> Any:
    return (
        select(
            LayerFeature.id, LayerFeature.kind, LayerFeature.name, LayerFeature.code,
            LayerFeature.lat, LayerFeature.lng, LayerFeature.props, OrgUnit.path,
        )
        .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
        # Conjuncts PostgreSQL's partial indexes (kind <> 'camera') are proven from.
        .where(*(LayerFeature.kind != kind for kind in NOT_PLACES))
    )  # fmt: skip


def cameras(db: Session, query: Query, limit: int, principal: Principal) -> list[Found]:
    """Cameras by name or GB/T 28181 id, within the caller's scope (at the district, cameras
    in no grid too)."""
    scoped = len(home_ids(principal)) > 1 or principal.towns is not None
    rows = _find(
        db, _camera_rows(scoped), fts="camera_fts", key=LayerFeature.id, name=LayerFeature.name,
        # A Chinese query is no GB/T 28181 id: PostgreSQL then reads the names' index alone.
        columns=(LayerFeature.name, LayerFeature.code)[: 2 if query.text.isascii() else 1],
        query=query, limit=limit, params={"home": _like(principal.home_path, prefix=True)},
        code=LayerFeature.code,
    )  # fmt: skip
    return [
        Found(
            "camera",
            row.status or "offline",
            row.id,
            row.name,
            "",
            row.code,
            row.lat,
            row.lng,
            path=row.path,
        )
        for row in rows
    ]


@cache
def _camera_rows(scoped: bool) -> Any:
    statement = (
        select(
            LayerFeature.id, LayerFeature.name, LayerFeature.code, LayerFeature.lat,
            LayerFeature.lng, Camera.status, OrgUnit.path,
        )
        .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
        .outerjoin(Camera, Camera.feature_id == LayerFeature.id)
        .where(LayerFeature.kind == "camera")
    )  # fmt: skip
    if scoped:
        statement = statement.where(OrgUnit.path.like(bindparam("home", type_=String), escape="\\"))
    return statement


def _event_rows(statement: Any) -> Any:
    return statement.order_by(Event.id.desc())


def events(db: Session, query: Query, limit: int, principal: Principal) -> list[Found]:
    """Events by code (a prefix, through the unique index) or address (the text index), within
    the caller's scope: code matches first, then the newest."""
    base = select(
        Event.id, Event.code, Event.category_name, Event.address, Event.status, Event.lat,
        Event.lng,
    ).where(event_scope(principal))  # fmt: skip
    code = query.text.upper()
    if query.postgres:  # LIKE 'q%' on the text_pattern_ops index, whatever the collation
        by_code = base.where(Event.code.like(_like(code, prefix=True), escape="\\"))
    else:  # a range on the unique index (binary order is code-point order)
        by_code = base.where(Event.code >= code, Event.code < code + _LAST_CHAR)
    rows = _run(db, by_code.order_by(Event.code).limit(limit), {})
    # An address holds Chinese; a query of ASCII alone (a code, digits) is not looked for in
    # addresses, where its digits would match a trigram of every one of 100,000 codes.
    if len(rows) < limit and query.indexed and not query.text.isascii():
        seen = [r.id for r in rows]
        if query.postgres:
            each = [Event.address.ilike(_like(t), escape="\\") for t in query.terms]
            by_text = base.where(and_(*each))
        else:
            # Driven from the index, newest match first (FTS5 walks rowids backwards), so it
            # stops at the limit's worth of readable events however many match.
            hits = _fts_ids("event_fts")
            by_text = base.join(hits, hits.c.id == Event.id).order_by(hits.c.id.desc())
        if seen:
            by_text = by_text.where(Event.id.not_in(seen))
        if query.postgres:
            by_text = _event_rows(by_text)
        params = {"match": _fts_match(query.terms)}
        rows += _run(db, by_text.limit(limit - len(rows)), params)
    return [
        Found(
            "event",
            row.status,
            row.id,
            row.code,
            f"{row.category_name} · {row.address}".strip(" ·"),
            row.code,
            row.lat,
            row.lng,
        )
        for row in rows
    ]


Searcher = Callable[[Session, Query, int, Principal], list[Found]]
SEARCHERS: dict[str, Searcher] = {
    "area": areas,
    "place": lambda db, q, n, p: places(db, q, n),
    "unit": lambda db, q, n, p: units(db, q, n),
    "camera": cameras,
    "event": events,
}


def search(
    *,
    db: Session,
    principal: Principal,
    q: str | None,
    kinds: Sequence[str] = KINDS,
    per_kind: int = PER_KIND,
) -> tuple[Query, dict[str, list[Found]]]:
    """Every kind's best `per_kind` suggestions for `q`, in `KINDS` order (empty kinds left out)."""
    query = parse(q, postgres=db.get_bind().dialect.name == "postgresql")
    if query.postgres:
        # For this request's transaction only. PostgreSQL's estimates for trigram GIN scans are
        # pessimistic enough that it reads the 35,000 map points one by one (30-50 ms) rather
        # than from the index (2-3 ms), and every statement here has an index to use. A plan
        # for the pattern actually typed: the driver prepares a statement run five times, and
        # a generic plan of `address ILIKE $1 ORDER BY id DESC` walks all 100,000 events.
        db.execute(text("SET LOCAL enable_seqscan = off"))
        db.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
    groups: dict[str, list[Found]] = {}
    for kind in KINDS:
        if kind in kinds:
            found = SEARCHERS[kind](db, query, per_kind, principal)
            if found:
                groups[kind] = found
    # The place words of every suggestion that needs them, from one query.
    paths = [f.path for found in groups.values() for f in found if f.path]
    if paths:
        names = _names_of(db, paths, principal)
        for kind, found in groups.items():
            groups[kind] = [
                replace(f, detail=_place_words(names, f.path, skip_last=f.path_skips_last))
                if f.path
                else f
                for f in found
            ]
    return query, groups

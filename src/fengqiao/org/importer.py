"""Import and export of the administrative tree as GeoJSON, all or nothing.

Every feature is checked first (code, kind, parent, household cap, polygon validity, overlap
with its neighbours, lying inside its parent); one bad feature rejects the whole file with a
report naming each problem, and nothing is written. The format is in docs/org-import.md.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.config import Settings
from fengqiao.crs import SUPPORTED_CRS, UnknownCRS, to_wgs84
from fengqiao.errors import FieldError, Problem
from fengqiao.org.codes import PARENT_KIND, code_problem, kind_of_code, parent_code
from fengqiao.org.models import AREA_TYPES, GRID_TYPES, VILLAGE_TYPES, OrgUnit
from fengqiao.org.reroot import reroot

KIND_ORDER = ("province", "city", "district", "town", "village", "grid")
ABOVE_DISTRICT = ("province", "city")
# Shared edges of neighbouring polygons intersect in a line. Converting a GCJ-02 file or rounding
# coordinates moves a vertex that lies on a neighbour's edge by centimetres, leaving slivers; so
# a polygon overlaps another (or sticks out of its parent) only by more than this distance
# (degrees, about 1 m) and this area (square degrees, about 1 m² at 30° N).
EDGE_TOLERANCE = 1e-5
AREA_TOLERANCE = 1e-10
# Names for WGS-84 in GeoJSON's old `crs` member, all equivalent for our purposes.
_WGS84_NAMES = {"urn:ogc:def:crs:ogc:1.3:crs84", "epsg:4326", "urn:ogc:def:crs:epsg::4326"}
_CGCS2000_NAMES = {"epsg:4490", "urn:ogc:def:crs:epsg::4490"}


@dataclass
class FeatureProblem:
    """What is wrong with one feature of an import."""

    index: int
    code: str | None
    reason: str
    reason_zh: str

    def as_field_error(self) -> FieldError:
        label = f"features[{self.index}]" + (f" ({self.code})" if self.code else "")
        return FieldError(label, self.reason, self.reason_zh)


@dataclass
class Candidate:
    """One feature that passed its own checks, in WGS-84."""

    index: int
    code: str
    kind: str
    name: str
    area_type: str | None
    village_type: str | None
    grid_type: str | None
    households: int | None
    population: int | None
    geometry: BaseGeometry | None


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    by_kind: dict[str, int] = field(default_factory=dict)
    # Districts stored as roots moved under their city by this import (their paths re-rooted).
    rerooted: list[str] = field(default_factory=list)


class ImportRejected(Problem):
    """The import had problems; nothing was written."""


def rejected(problems: list[FeatureProblem]) -> ImportRejected:
    problems = sorted(problems, key=lambda p: (p.index, p.reason))
    return ImportRejected(
        status=422,
        slug="org-import-rejected",
        title="Import rejected, nothing was imported",
        title_zh="导入被拒绝，未导入任何数据",
        detail=f"{len(problems)} problem(s); first: {problems[0].reason}",
        detail_zh=f"共 {len(problems)} 处问题；第一处：{problems[0].reason_zh}",
        errors=[p.as_field_error() for p in problems],
    )


def _whole_problem(reason: str, reason_zh: str) -> ImportRejected:
    return rejected([FeatureProblem(-1, None, reason, reason_zh)])


def declared_crs(data: dict[str, Any], override: str | None) -> str:
    """The CRS the file's coordinates are in: the override, the file's own, or WGS-84."""
    if override:
        name = override.lower()
    else:
        name = str(data.get("coordinate_system") or "").lower()
        crs_member = data.get("crs")
        if not name and isinstance(crs_member, dict):
            name = str((crs_member.get("properties") or {}).get("name", "")).lower()
    if not name or name in _WGS84_NAMES:
        return "wgs84"
    if name in _CGCS2000_NAMES:
        return "cgcs2000"
    if name not in SUPPORTED_CRS:
        raise _whole_problem(
            f"unknown CRS {name!r}; use one of {', '.join(SUPPORTED_CRS)}",
            f"未知坐标系 {name}；可选：{'、'.join(SUPPORTED_CRS)}",
        )
    return name


def _convert_geometry(geometry: Any, crs: str) -> tuple[BaseGeometry | None, str | None, str]:
    """(WGS-84 shapely geometry, None) or (None, reason, reason_zh)."""
    if not isinstance(geometry, dict) or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return (
            None,
            "geometry must be a GeoJSON Polygon or MultiPolygon",
            "几何必须是面（Polygon 或 MultiPolygon）",
        )
    if not all(_finite_numbers(geometry.get("coordinates"))):
        return None, "coordinates must be finite numbers", "坐标必须是有限数字"
    try:
        geom = shape(geometry)
    except Exception as exc:  # shapely raises several kinds on malformed coordinates
        return None, f"malformed coordinates: {exc}", "坐标格式错误"
    coords = shapely.get_coordinates(geom)
    if len(coords) == 0 or geom.is_empty:
        return None, "empty geometry", "几何为空"
    if not np.isfinite(coords).all():
        return None, "coordinates must be finite numbers", "坐标必须是有限数字"
    if (np.abs(coords[:, 0]) > 180).any() or (np.abs(coords[:, 1]) > 90).any():
        return (
            None,
            "longitude must lie in ±180 and latitude in ±90 (swapped?)",
            "经度须在±180、纬度须在±90以内（是否颠倒？）",
        )
    if crs not in ("wgs84", "cgcs2000"):
        lng, lat = to_wgs84(coords[:, 0], coords[:, 1], crs)
        geom = shapely.set_coordinates(geom, np.column_stack([lng, lat]))
    if not geom.is_valid:
        why = shapely.is_valid_reason(geom)
        return None, f"invalid polygon: {why}", f"面不合法（如自相交）：{why}"
    if geom.area <= 0:
        return None, "polygon has no area", "面积为零"
    return geom, None, ""


def _finite_numbers(value: Any) -> Iterable[bool]:
    """Yield, for every leaf of a nested coordinate list, whether it is a finite number."""
    if isinstance(value, list | tuple):
        for item in value:
            yield from _finite_numbers(item)
    else:
        yield (
            isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
        )


def _int_prop(props: dict[str, Any], key: str) -> tuple[int | None, str | None]:
    value = props.get(key)
    if value is None:
        return None, None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None, f"{key} must be a whole number"
    if value != int(value) or value < 0:
        return None, f"{key} must be a whole number ≥ 0"
    return int(value), None


def parse_features(data: Any, crs: str | None) -> tuple[list[Candidate], list[FeatureProblem]]:
    """Check each feature on its own; return the good ones and the problems."""
    if not isinstance(data, dict) or data.get("type") != "FeatureCollection":
        raise _whole_problem("not a GeoJSON FeatureCollection", "不是 GeoJSON FeatureCollection")
    features = data.get("features")
    if not isinstance(features, list) or not features:
        raise _whole_problem("the FeatureCollection has no features", "文件中没有要素")
    source_crs = declared_crs(data, crs)
    candidates: list[Candidate] = []
    problems: list[FeatureProblem] = []
    for index, feature in enumerate(features):
        candidate, feature_problems = _parse_feature(index, feature, source_crs)
        problems.extend(feature_problems)
        if candidate is not None and not feature_problems:
            candidates.append(candidate)
    return candidates, problems


def _parse_feature(
    index: int, feature: Any, crs: str
) -> tuple[Candidate | None, list[FeatureProblem]]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, [FeatureProblem(index, None, "not a GeoJSON Feature", "不是 GeoJSON 要素")]
    props = feature.get("properties")
    if not isinstance(props, dict):
        return None, [FeatureProblem(index, None, "feature has no properties", "要素缺少属性")]
    raw_code = props.get("code")
    code = (
        str(raw_code) if isinstance(raw_code, str | int) and not isinstance(raw_code, bool) else ""
    )
    problems: list[FeatureProblem] = []

    def bad(reason: str, reason_zh: str) -> None:
        problems.append(FeatureProblem(index, code or None, reason, reason_zh))

    kind = kind_of_code(code) if code else None
    if kind is None:
        bad(
            f"bad code {raw_code!r}: digits only, 6 (province 330000, city 330600, "
            "district 330603), 9 town, 12 village, 15 grid",
            f"编码 {raw_code} 无效：应为 6/9/12/15 位数字（省 330000、市 330600、区 330603）",
        )
        return None, problems
    declared_kind = props.get("kind")
    if declared_kind is not None and declared_kind != kind:
        bad(
            f"kind {declared_kind!r} does not match a {len(code)}-digit code ({kind})",
            f"类型 {declared_kind} 与 {len(code)} 位编码不符",
        )
    why = code_problem(code, kind)
    if why:
        bad(f"bad code: {why}", f"编码无效：{why}")
    declared_parent = props.get("parent")
    if declared_parent is not None and str(declared_parent) != (parent_code(code) or ""):
        # Export writes `parent`; a file that says a unit sits under a parent whose code is not
        # its own code's prefix (a city that does not prefix its districts) is refused.
        bad(
            f"parent: {kind} {code} cannot sit under {declared_parent}: its code must start "
            f"with its parent's code ({parent_code(code) or 'no parent'})",
            f"parent 字段：{code} 不能隶属于 {declared_parent}，下级编码须以上级编码开头",
        )
    name = props.get("name")
    if not isinstance(name, str) or not name.strip():
        bad("name is missing", "缺少名称")
    choices = {"area_type": AREA_TYPES, "village_type": VILLAGE_TYPES, "grid_type": GRID_TYPES}
    for key, allowed in choices.items():
        value = props.get(key)
        if value is not None and value not in allowed:
            bad(
                f"{key} must be one of {', '.join(allowed)}",
                f"{key} 取值须为：{'、'.join(allowed)}",
            )
    counts: dict[str, int | None] = {}
    for key in ("households", "population"):
        counts[key], why = _int_prop(props, key)
        if why:
            bad(why, f"{key} 须为非负整数")
    geometry = None
    if feature.get("geometry") is not None or kind == "grid":
        geometry, reason, reason_zh = _convert_geometry(feature.get("geometry"), crs)
        if reason:
            bad(reason, reason_zh)
    if problems:
        return None, problems
    return (
        Candidate(
            index=index,
            code=code,
            kind=kind,
            name=str(name).strip(),
            area_type=props.get("area_type"),
            village_type=props.get("village_type") if kind == "village" else None,
            grid_type=(props.get("grid_type") or "residential") if kind == "grid" else None,
            households=counts["households"],
            population=counts["population"],
            geometry=geometry,
        ),
        [],
    )


@dataclass
class _Node:
    """A unit as it will be after the import: from the file, or already stored."""

    code: str
    kind: str
    area_type: str | None
    geometry: BaseGeometry | None
    candidate: Candidate | None


def _stored_nodes(db: Session, codes: Iterable[str]) -> dict[str, _Node]:
    rows = db.execute(
        select(OrgUnit.code, OrgUnit.kind, OrgUnit.area_type, OrgUnit.geometry).where(
            OrgUnit.code.in_(list(codes)), OrgUnit.valid_to.is_(None)
        )
    ).all()
    return {
        code: _Node(code, kind, area, shape(geo) if geo else None, None)
        for code, kind, area, geo in rows
    }


def check_tree(
    db: Session, candidates: list[Candidate], settings: Settings
) -> list[FeatureProblem]:
    """Problems that need the whole file and the stored tree: duplicates, orphans, caps, overlaps."""
    problems: list[FeatureProblem] = []
    by_code: dict[str, Candidate] = {}
    for cand in candidates:
        if cand.code in by_code:
            first = by_code[cand.code].index
            problems.append(
                FeatureProblem(
                    cand.index,
                    cand.code,
                    f"duplicate code: {cand.kind} {cand.code} imported twice, also feature {first}",
                    f"编码重复：{cand.code} 重复导入（与第 {first} 个要素相同）",
                )
            )
        else:
            by_code[cand.code] = cand
    ancestors: set[str] = set()
    for code in by_code:
        up = parent_code(code)
        while up is not None:
            ancestors.add(up)
            up = parent_code(up)
    nodes = _stored_nodes(db, ancestors | set(by_code))
    # A district-only deployment (no province or city stored or imported) keeps its districts
    # as roots; once the tree has a level above the district, every district needs its city.
    above = any(c.kind in ABOVE_DISTRICT for c in by_code.values()) or _has_units_above(db)
    problems.extend(_reparented(db, by_code))
    if above:
        problems.extend(_roots_left_behind(db, by_code, nodes))
    for code, cand in by_code.items():
        nodes[code] = _Node(
            code,
            cand.kind,
            cand.area_type or (nodes[code].area_type if code in nodes else None),
            cand.geometry,
            cand,
        )

    def area_type_of(code: str) -> str | None:
        while code:
            node = nodes.get(code)
            if node and node.area_type:
                return node.area_type
            code = parent_code(code) or ""
        return None

    caps = {"rural": settings.household_cap_rural, "urban": settings.household_cap_urban}
    for code, cand in by_code.items():
        parent = parent_code(code)
        if cand.kind == "district" and not above:
            parent = None
        if parent is not None and parent not in nodes:
            if cand.kind == "district":
                problems.append(
                    FeatureProblem(
                        cand.index,
                        code,
                        f"code: district {code} lies in city {parent}, which is neither in the "
                        "file nor stored; a district's code must start with its city's 4 digits",
                        f"code 字段：区 {code} 的上级市 {parent} 不存在，区编码须以所属市编码前 4 位开头",
                    )
                )
                continue
            problems.append(
                FeatureProblem(
                    cand.index,
                    code,
                    f"orphan: parent {PARENT_KIND[cand.kind]} {parent} is neither in the file nor stored",
                    f"孤立要素：上级 {parent} 不存在",
                )
            )
            continue
        if cand.kind == "grid" and cand.households is not None:
            area = area_type_of(code) or "rural"
            if cand.households > caps[area]:
                problems.append(
                    FeatureProblem(
                        cand.index,
                        code,
                        f"{cand.households} households exceed the {area} grid cap of {caps[area]}",
                        f"户数 {cand.households} 超过{'城市' if area == 'urban' else '农村'}网格上限 {caps[area]}",
                    )
                )
        parent_geometry = nodes[parent].geometry if parent else None
        if (
            cand.geometry is not None
            and parent_geometry is not None
            and _sticks_out(cand.geometry, parent_geometry)
        ):
            problems.append(
                FeatureProblem(
                    cand.index,
                    code,
                    f"polygon extends outside its parent {parent}",
                    f"边界超出上级 {parent} 的范围",
                )
            )
    problems.extend(_overlaps(db, nodes, by_code))
    return problems


def _has_units_above(db: Session) -> bool:
    """True when a province or city is stored: the tree reaches above the district."""
    found = db.scalar(
        select(OrgUnit.id)
        .where(OrgUnit.kind.in_(ABOVE_DISTRICT), OrgUnit.valid_to.is_(None))
        .limit(1)
    )
    return found is not None


def _reparented(db: Session, by_code: dict[str, Candidate]) -> list[FeatureProblem]:
    """Districts of the file already stored under another city than their code's.

    A district stored as a root (a district-only database) whose city arrives is moved under it
    (`write_candidates`, `reroot`); one stored under another city is a second import of the
    same district and refused.
    """
    districts = [c for c in by_code.values() if c.kind == "district"]
    if not districts:
        return []
    stored = {
        code: parent
        for code, parent in db.execute(
            select(OrgUnit.code, OrgUnit.parent_id).where(
                OrgUnit.code.in_([c.code for c in districts]), OrgUnit.valid_to.is_(None)
            )
        ).all()
    }
    parent_ids = {p for p in stored.values() if p is not None}
    parent_codes = dict(
        db.execute(select(OrgUnit.id, OrgUnit.code).where(OrgUnit.id.in_(parent_ids))).all()
    )
    problems: list[FeatureProblem] = []
    for cand in districts:
        if cand.code not in stored:
            continue
        stored_parent = stored[cand.code]
        now = parent_codes.get(stored_parent) if stored_parent is not None else None
        wanted = parent_code(cand.code)
        if now is not None and now != wanted:
            problems.append(
                FeatureProblem(
                    cand.index,
                    cand.code,
                    f"code: district {cand.code} is already imported under {now}",
                    f"code 字段：区 {cand.code} 已导入在 {now} 之下，不能重复导入",
                )
            )
    return problems


def _roots_left_behind(
    db: Session, by_code: dict[str, Candidate], nodes: dict[str, _Node]
) -> list[FeatureProblem]:
    """Stored root districts whose city is neither stored nor in a file that adds the level above.

    Once the tree reaches above the district, every district hangs under its city; the file
    that brings the province and cities must bring every stored district's city too.
    """
    roots = db.scalars(
        select(OrgUnit.code).where(
            OrgUnit.kind == "district", OrgUnit.parent_id.is_(None), OrgUnit.valid_to.is_(None)
        )
    ).all()
    cities = set(
        db.scalars(select(OrgUnit.code).where(OrgUnit.kind == "city", OrgUnit.valid_to.is_(None)))
    ) | {c for c, cand in by_code.items() if cand.kind == "city"}
    problems = []
    for code in sorted(roots):
        city = parent_code(code)
        if city not in cities:
            problems.append(
                FeatureProblem(
                    -1,
                    code,
                    f"code: stored district {code} would be left without its city {city}: "
                    "import its city with the province",
                    f"code 字段：已有的区 {code} 缺少上级市 {city}，请与省一并导入该市",
                )
            )
    return problems


def _sticks_out(child: BaseGeometry, parent: BaseGeometry) -> bool:
    if child.difference(parent).area <= AREA_TOLERANCE:
        return False
    return child.difference(parent.buffer(EDGE_TOLERANCE)).area > AREA_TOLERANCE


def _overlap(a: BaseGeometry, b: BaseGeometry) -> bool:
    if shapely.intersection(a, b).area <= AREA_TOLERANCE:
        return False
    return shapely.intersection(a.buffer(-EDGE_TOLERANCE), b).area > AREA_TOLERANCE


def _overlaps(
    db: Session, nodes: dict[str, _Node], by_code: dict[str, Candidate]
) -> list[FeatureProblem]:
    """Pairs of same-kind polygons that share area, at least one of them from the file."""
    problems: list[FeatureProblem] = []
    for kind in ("town", "village", "grid"):
        mine = [c for c in by_code.values() if c.kind == kind and c.geometry is not None]
        if not mine:
            continue
        stored = db.execute(
            select(OrgUnit.code, OrgUnit.geometry).where(
                OrgUnit.kind == kind, OrgUnit.valid_to.is_(None), OrgUnit.geometry.is_not(None)
            )
        ).all()
        codes = [c.code for c in mine] + [code for code, _ in stored if code not in by_code]
        geoms: list[BaseGeometry] = [c.geometry for c in mine if c.geometry is not None]
        geoms += [shape(g) for code, g in stored if code not in by_code]
        tree = shapely.STRtree(geoms)
        left, right = tree.query(geoms[: len(mine)], predicate="intersects")
        keep = left != right
        for i, j in zip(left[keep].tolist(), right[keep].tolist(), strict=True):
            if j < len(mine) and j < i:
                continue  # each pair inside the file once
            if _overlap(geoms[i], geoms[j]):
                problems.append(
                    FeatureProblem(
                        mine[i].index,
                        codes[i],
                        f"polygon overlaps {kind} {codes[j]}",
                        f"边界与{codes[j]}重叠",
                    )
                )
    return problems


def _bounds(geom: BaseGeometry | None) -> dict[str, float | None]:
    if geom is None:
        return {"min_lng": None, "min_lat": None, "max_lng": None, "max_lat": None}
    min_lng, min_lat, max_lng, max_lat = geom.bounds
    return {"min_lng": min_lng, "min_lat": min_lat, "max_lng": max_lng, "max_lat": max_lat}


def geojson_of(geom: BaseGeometry | None) -> dict[str, Any] | None:
    """A geometry as a GeoJSON dict with coordinates rounded to 7 decimals (about 1 cm)."""
    if geom is None:
        return None
    return dict(mapping(shapely.set_precision(geom, 1e-7, mode="pointwise")))


def write_candidates(db: Session, candidates: list[Candidate]) -> ImportReport:
    """Insert new units and update stored ones, parents before children."""
    report = ImportReport()
    ordered = sorted(candidates, key=lambda c: (KIND_ORDER.index(c.kind), c.code))
    stored = {
        unit.code: unit
        for unit in db.scalars(select(OrgUnit).where(OrgUnit.code.in_([c.code for c in ordered])))
    }
    parents: dict[str, OrgUnit] = {}
    parent_codes = {parent_code(c.code) for c in ordered} - {None}
    for unit in db.scalars(select(OrgUnit).where(OrgUnit.code.in_(parent_codes))):
        parents[unit.code] = unit
    for cand in ordered:
        values: dict[str, Any] = {
            "name": cand.name,
            "kind": cand.kind,
            "area_type": cand.area_type,
            "village_type": cand.village_type,
            "grid_type": cand.grid_type,
            "households": cand.households,
            "population": cand.population,
            "geometry": geojson_of(cand.geometry),
            "valid_to": None,
            **_bounds(cand.geometry),
        }
        found = stored.get(cand.code)
        if found is None:
            pcode = parent_code(cand.code)
            parent = parents.get(pcode) if pcode else None  # a district-only root has none
            unit = OrgUnit(
                code=cand.code, parent_id=parent.id if parent else None, path="", **values
            )
            db.add(unit)
            db.flush()
            unit.path = (parent.path if parent else "/") + f"{unit.id}/"
            report.created += 1
        else:
            unit = found
            if unit.area_type and not cand.area_type:
                values["area_type"] = unit.area_type
            for key, value in values.items():
                setattr(unit, key, value)
            report.updated += 1
        parents[cand.code] = unit
        report.by_kind[cand.kind] = report.by_kind.get(cand.kind, 0) + 1
    db.flush()
    if any(c.kind == "city" for c in ordered):
        report.rerooted = _reroot_districts(db)
    return report


def _reroot_districts(db: Session) -> list[str]:
    """Move every stored root district under its city, now stored: codes of those moved."""
    cities = {
        u.code: u
        for u in db.scalars(
            select(OrgUnit).where(OrgUnit.kind == "city", OrgUnit.valid_to.is_(None))
        )
    }
    moved = []
    roots = db.scalars(
        select(OrgUnit).where(
            OrgUnit.kind == "district", OrgUnit.parent_id.is_(None), OrgUnit.valid_to.is_(None)
        )
    ).all()
    for district in roots:
        city = cities.get(parent_code(district.code) or "")
        if city is None:
            continue
        old, new = district.path, f"{city.path}{district.id}/"
        district.parent_id = city.id
        db.flush()
        reroot(db=db, old_prefix=old, new_prefix=new)
        db.expire_all()
        moved.append(district.code)
    return moved


def import_tree(
    *, db: Session, data: Any, settings: Settings, crs: str | None = None
) -> ImportReport:
    """Validate a FeatureCollection against itself and the stored tree, then write it whole."""
    try:
        candidates, problems = parse_features(data, crs)
    except UnknownCRS as exc:
        raise _whole_problem(str(exc), "未知坐标系") from exc
    problems.extend(check_tree(db, candidates, settings))
    if problems:
        raise rejected(problems)
    report = write_candidates(db, candidates)
    if any(c.kind in ("province", "city", "district") for c in candidates):
        # Principals cache their home's reach (`auth.service.home_reach`): a new district or a
        # level above moves it, so every instance reloads them.
        from fengqiao.org.service import bump_counter  # org.service imports this module

        bump_counter(db=db, name="users")
    return report


def feature_of(unit: OrgUnit, parent: str | None) -> dict[str, Any]:
    props = {
        "code": unit.code,
        "kind": unit.kind,
        "name": unit.name,
        "parent": parent,
        "area_type": unit.area_type,
        "village_type": unit.village_type,
        "grid_type": unit.grid_type,
        "households": unit.households,
        "population": unit.population,
    }
    return {
        "type": "Feature",
        "id": unit.code,
        "properties": {k: v for k, v in props.items() if v is not None},
        "geometry": unit.geometry,
    }


def export_tree(*, db: Session, root_path: str = "/") -> dict[str, Any]:
    """The stored tree below `root_path` as a FeatureCollection that `import_tree` takes back."""
    units = db.scalars(
        select(OrgUnit)
        .where(OrgUnit.path.startswith(root_path, autoescape=True), OrgUnit.valid_to.is_(None))
        .order_by(OrgUnit.code)
    ).all()
    features = [feature_of(u, None if u.parent_id is None else parent_code(u.code)) for u in units]
    features.sort(key=lambda f: (KIND_ORDER.index(f["properties"]["kind"]), f["id"]))
    return {"type": "FeatureCollection", "name": "fengqiao-org-tree", "features": features}

"""Levels of detail of the one-map above the grids: the outlines of the cities, districts and
towns of an area, and the grids of a box only.

A province holds 85,000 grids (29 MB of GeoJSON); its map draws the 11 cities' outlines, a
city's its districts, and grids only for the box in view once the map is close in. An outline is
the unit's stored geometry when the importer kept one, else the union of its grids; either is
simplified for its level (a city to ~400 m, a town to ~80 m). Both answers are cached by the
caller (`GridLocator.cached_geojson`, per grid generation).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

import shapely
from shapely.geometry import mapping, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import invalid
from fengqiao.geo.distance import Box
from fengqiao.org.models import OrgUnit

# The kinds an outline layer can show, and how much each is simplified (degrees; 0.001 ≈ 100 m).
OUTLINE_KINDS = ("city", "district", "town")
TOLERANCE = {"city": 0.004, "district": 0.002, "town": 0.0008}
# Below a kind, the next kind whose outlines a map of it shows.
CHILD_KIND = {"province": "city", "city": "district", "district": "town"}
# The tree's next level down: what an outline without stored geometry is the union of.
NEXT_DOWN = {"city": "district", "district": "town", "town": "village", "village": "grid"}
# The most grids one box answers: a closer view, not a bigger answer.
MAX_BOX_GRIDS = 5000


def parse_bbox(text: str | None) -> Box | None:
    """`min_lng,min_lat,max_lng,max_lat` as a box (south, north, west, east), or a 422."""
    if text is None:
        return None
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise invalid(
            "bbox",
            "four numbers: min_lng,min_lat,max_lng,max_lat",
            "应为四个数：最小经度，最小纬度，最大经度，最大纬度",
        ) from None
    if not (-180 <= west <= east <= 180 and -90 <= south <= north <= 90):
        raise invalid(
            "bbox",
            "min_lng ≤ max_lng within -180..180 and min_lat ≤ max_lat within -90..90",
            "最小经度须不大于最大经度（-180 到 180），最小纬度须不大于最大纬度（-90 到 90）",
        )
    return south, north, west, east


def outline_features(db: Session, path: str, kind: str) -> dict[str, Any]:
    """The live units of `kind` under `path` as simplified outlines (properties `id`, `code`,
    `name`, `kind`; `bbox` west, south, east, north). A unit without stored geometry gets the
    union of its children's (stored, or theirs in turn, down to the grids); one with neither is
    left out."""
    units = db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.path)
        .where(
            OrgUnit.kind == kind,
            OrgUnit.valid_to.is_(None),
            OrgUnit.path.startswith(path, autoescape=True),
        )
        .order_by(OrgUnit.code)
    ).all()  # fmt: skip
    shapes = _shapes(db, path, kind)
    tolerance = TOLERANCE.get(kind, 0.0008)
    features = []
    for unit in units:
        geom = shapes.get(unit.path)
        if geom is None or geom.is_empty:
            continue
        simple = shapely.set_precision(
            geom.simplify(tolerance, preserve_topology=True), 0.00001, mode="pointwise"
        )
        west, south, east, north = geom.bounds  # rounded outward: the box holds the unit
        west, south = math.floor(west * 1e5) / 1e5, math.floor(south * 1e5) / 1e5
        east, north = math.ceil(east * 1e5) / 1e5, math.ceil(north * 1e5) / 1e5
        features.append(
            {
                "type": "Feature",
                "id": unit.code,
                "bbox": [west, south, east, north],
                "properties": {"id": unit.id, "code": unit.code, "name": unit.name, "kind": kind},
                "geometry": mapping(simple),
            }
        )
    return {"type": "FeatureCollection", "kind": kind, "features": features}


def _shapes(db: Session, path: str, kind: str) -> dict[str, BaseGeometry]:
    """Path → geometry of the live units of `kind` under `path`: the stored one, else the union
    of the next level down's (a province imported with district outlines but none for its
    cities reads 90 districts, not 85,000 grids)."""
    shapes: dict[str, BaseGeometry] = {}
    missing: set[str] = set()
    for unit_path, geometry in db.execute(
        select(OrgUnit.path, OrgUnit.geometry).where(
            OrgUnit.kind == kind,
            OrgUnit.valid_to.is_(None),
            OrgUnit.path.startswith(path, autoescape=True),
        )
    ):
        if geometry:
            shapes[unit_path] = shape(geometry)
        else:
            missing.add(unit_path)
    below = NEXT_DOWN.get(kind)
    if missing and below is not None:
        groups: dict[str, list[BaseGeometry]] = defaultdict(list)
        for child_path, geom in _shapes(db, path, below).items():
            parent = "/".join(child_path.split("/")[:-2]) + "/"  # "/1/5/77/" → "/1/5/"
            if parent in missing:
                groups[parent].append(geom)
        for parent, parts in groups.items():
            shapes[parent] = shapely.union_all(parts)
    return shapes


def grid_collection(rows: Sequence[Any]) -> dict[str, Any]:
    """Grid rows (id, code, name, grid_type, households, population, geometry) as the grid
    layer's GeoJSON (the whole layer and a box of it alike)."""
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.code,
                "properties": {
                    "id": r.id, "code": r.code, "name": r.name, "grid_type": r.grid_type,
                    "households": r.households, "population": r.population,
                },
                "geometry": r.geometry,
            }
            for r in rows
        ],
    }  # fmt: skip


def box_grid_features(db: Session, path: str, box: Box, limit: int) -> dict[str, Any] | None:
    """The live grids under `path` whose bounds meet `box` (south, north, west, east), as the
    grid layer's features; None when more than `limit` do (the caller asks for a closer view)."""
    south, north, west, east = box
    rows = db.execute(
        select(
            OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.grid_type, OrgUnit.households,
            OrgUnit.population, OrgUnit.geometry,
        )
        .where(
            OrgUnit.kind == "grid",
            OrgUnit.valid_to.is_(None),
            OrgUnit.path.startswith(path, autoescape=True),
            OrgUnit.min_lng <= east, OrgUnit.max_lng >= west,
            OrgUnit.min_lat <= north, OrgUnit.max_lat >= south,
        )
        .order_by(OrgUnit.code)
        .limit(limit + 1)
    ).all()  # fmt: skip
    if len(rows) > limit:
        return None
    return grid_collection(rows)


def ancestors_at(db: Session, path: str, kind: str) -> dict[int, int]:
    """Town id → the id of its ancestor of `kind` (itself for towns), for the towns under
    `path`: how per-town event counts roll up to the outlines shown."""
    units = dict(
        db.execute(
            select(OrgUnit.path, OrgUnit.id).where(
                OrgUnit.kind == kind,
                OrgUnit.valid_to.is_(None),
                OrgUnit.path.startswith(path, autoescape=True),
            )
        ).all()
    )
    depths = {p.count("/") for p in units}
    towns: dict[int, int] = {}
    for town_id, town_path in db.execute(
        select(OrgUnit.id, OrgUnit.path).where(
            OrgUnit.kind == "town", OrgUnit.path.startswith(path, autoescape=True)
        )
    ):
        for depth in depths:
            unit_id = units.get("/".join(town_path.split("/")[:depth]) + "/")
            if unit_id is not None:
                towns[town_id] = unit_id
                break
    return towns

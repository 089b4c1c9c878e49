"""The demo district's boundaries: towns, villages and grids as snapped Voronoi cells that
cover the district exactly, with codes, names, types and households, and their org rows.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon

from fengqiao.config import get_settings
from fengqiao.demo import keqiao as kq
from fengqiao.demo.plan import (
    CREATED_AT,
    GRID_SIZE,
    LLOYD_ITERATIONS,
    SPECIAL_GRID_TYPES,
    Org,
    Progress,
    Row,
    Scale,
)
from fengqiao.org.codes import child_code, reading_order


def plan_district(spec: Scale, rng: np.random.Generator, progress: Progress) -> Org:
    """The org tree with snapped boundaries, codes, names, types and households; ids assigned."""
    box = shapely.box(*kq.DISTRICT_BBOX)
    district = Org(
        code=kq.DISTRICT_CODE, name=kq.DISTRICT_NAME, kind="district", parent=None, shape=box
    )
    anchors = shapely.multipoints([(t.lng, t.lat) for t in kq.TOWNS])
    cells = shapely.voronoi_polygons(anchors, extend_to=box, ordered=True)
    town_cells = shapely.intersection(shapely.get_parts(cells), box)
    chosen = [
        (town, cell)
        for town, cell in zip(kq.TOWNS, town_cells, strict=True)
        if spec.towns is None or town.name in spec.towns
    ]
    steps = len(chosen) + 2

    minimum = min(8, spec.villages // len(chosen))
    village_counts = _apportion([c.area for _, c in chosen], spec.villages, minimum)
    village_cells: list[list[Polygon]] = []
    for done, ((_, cell), count) in enumerate(zip(chosen, village_counts, strict=True), 1):
        village_cells.append(_relaxed_cells(cell, count, rng))
        progress("boundaries", done, steps)
    flat_villages = [v for cells_of_town in village_cells for v in cells_of_town]
    grid_counts = _apportion([v.area for v in flat_villages], spec.grids, 2)
    grid_cells = [
        _relaxed_cells(cell, count, rng)
        for cell, count in zip(flat_villages, grid_counts, strict=True)
    ]

    # Snap the grids onto the coordinate grid as one coverage; villages and towns are unions of
    # their grids, so every level shares vertices exactly with its neighbours and its children.
    snapped = iter(_snap_coverage([g for cells_of_village in grid_cells for g in cells_of_village]))
    grid_shapes = [[next(snapped) for _ in cells_of_village] for cells_of_village in grid_cells]
    _check_coverage([g for gs in grid_shapes for g in gs], "grid")
    progress("boundaries", steps - 1, steps)

    used_stems: set[str] = set()
    position = 0
    for (town, _), town_village_count in zip(chosen, village_counts, strict=True):
        village_grids = grid_shapes[position : position + town_village_count]
        position += town_village_count
        village_shapes = [_as_polygon(shapely.coverage_union_all(gs)) for gs in village_grids]
        town_node = Org(
            code=child_code(kq.DISTRICT_CODE, town.sequence),
            name=town.name,
            kind="town",
            parent=district,
            shape=_as_polygon(shapely.coverage_union_all(village_shapes)),
            area_type=town.area_type,
        )
        district.children.append(town_node)
        for index in _reading_order(village_shapes):
            village = _plan_village(
                town_node, village_shapes[index], village_grids[index], rng, used_stems
            )
            town_node.children.append(village)
    _check_coverage([v.shape for t in district.children for v in t.children], "village")
    _check_coverage([t.shape for t in district.children], "town")

    grids = [g for t in district.children for v in t.children for g in v.children]
    _assign_grid_types(grids, rng)
    _assign_households(district, rng)
    _assign_ids(district)
    progress("boundaries", steps, steps)
    return district


def _plan_village(
    town: Org,
    shape: Polygon,
    grid_shapes: list[Polygon],
    rng: np.random.Generator,
    used_stems: set[str],
) -> Org:
    is_community = town.area_type == "urban" and rng.random() < 0.75
    village_type = "community" if is_community else "village"
    stem = _village_stem(rng, used_stems)
    village = Org(
        code=child_code(town.code, len(town.children) + 1),
        name=f"{stem}{'社区' if is_community else '村'}",
        kind="village",
        parent=town,
        shape=shape,
        area_type="urban" if is_community else "rural",
        village_type=village_type,
    )
    for index in _reading_order(grid_shapes):
        village.children.append(
            Org(
                code=child_code(village.code, len(village.children) + 1),
                name="",  # named once the special grids are known
                kind="grid",
                parent=village,
                shape=grid_shapes[index],
                area_type=village.area_type,
            )
        )
    return village


def _village_stem(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        first = kq.VILLAGE_FIRST[int(rng.integers(len(kq.VILLAGE_FIRST)))]
        second = kq.VILLAGE_SECOND[int(rng.integers(len(kq.VILLAGE_SECOND)))]
        stem = first + second
        if first != second and stem not in used:
            used.add(stem)
            return stem


def _reading_order(shapes: Sequence[Polygon]) -> list[int]:
    """Indices of `shapes` west→east, then north→south, rows about one cell tall."""
    _, miny, _, maxy = shapely.total_bounds(np.asarray(shapes))
    centroids = [(c.x, c.y) for c in shapely.centroid(np.asarray(shapes))]
    return reading_order(centroids, (maxy - miny) / math.sqrt(len(shapes)))


def _relaxed_cells(region: Polygon, count: int, rng: np.random.Generator) -> list[Polygon]:
    """`count` Voronoi cells tiling `region`, from random points evened out by Lloyd's method."""
    if count == 1:
        return [region]
    points = points_in(region, count, rng)
    for iteration in range(LLOYD_ITERATIONS + 1):
        diagram = shapely.voronoi_polygons(
            shapely.multipoints(points), extend_to=region, ordered=True
        )
        cells = shapely.intersection(shapely.get_parts(diagram), region)
        if iteration == LLOYD_ITERATIONS:
            return [_as_polygon(c) for c in cells]
        points = shapely.get_coordinates(shapely.centroid(cells))
    raise AssertionError("unreachable")


def points_in(region: Any, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` random points inside `region`, rounded to 6 decimals, as an (n, 2) array."""
    minx, miny, maxx, maxy = region.bounds
    shapely.prepare(region)
    found: list[np.ndarray] = []
    have = 0
    while have < count:
        candidates = rng.uniform((minx, miny), (maxx, maxy), size=(2 * count + 8, 2)).round(6)
        inside = candidates[shapely.contains_xy(region, candidates[:, 0], candidates[:, 1])]
        found.append(inside)
        have += len(inside)
    return np.concatenate(found)[:count]


def _apportion(weights: Sequence[float], total: int, minimum: int) -> list[int]:
    """Split `total` into parts of at least `minimum`, the rest in proportion to `weights`."""
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"cannot give {len(weights)} parts at least {minimum} out of {total}")
    quota = spare * np.asarray(weights, dtype=float) / float(sum(weights))
    parts = np.floor(quota).astype(int)
    by_remainder = sorted(range(len(weights)), key=lambda i: (parts[i] - quota[i], i))
    for i in by_remainder[: spare - int(parts.sum())]:
        parts[i] += 1
    return [minimum + int(p) for p in parts]


def _snap_coverage(cells: list[Polygon]) -> list[Polygon]:
    """`cells` noded together on GRID_SIZE: neighbours share edges exactly, with no overlap.

    Rounding each polygon on its own would move a vertex that sits on a neighbour's edge (where
    a village's cells meet the next village) off that edge and leave slivers of overlap.
    """
    cell_array = np.asarray(cells)
    lines = shapely.union_all(shapely.boundary(cell_array), grid_size=GRID_SIZE)
    faces = np.asarray(shapely.get_parts(shapely.polygonize(shapely.get_parts(lines))))
    face_index, cell_index = shapely.STRtree(cell_array).query(faces, predicate="intersects")
    overlap = shapely.area(shapely.intersection(faces[face_index], cell_array[cell_index]))
    owner: dict[int, tuple[float, int]] = {}
    for f, c, a in zip(face_index.tolist(), cell_index.tolist(), overlap.tolist(), strict=True):
        if f not in owner or a > owner[f][0]:
            owner[f] = (a, c)
    parts: list[list[Polygon]] = [[] for _ in cells]
    for f in range(len(faces)):
        parts[owner[f][1]].append(faces[f])
    if any(not p for p in parts):
        raise RuntimeError("a demo grid vanished when snapped to 6 decimals")
    return [
        p[0] if len(p) == 1 else _as_polygon(shapely.union_all(p, grid_size=GRID_SIZE))
        for p in parts
    ]


def _as_polygon(geometry: Any) -> Polygon:
    if not isinstance(geometry, Polygon):
        raise RuntimeError(f"expected one polygon, got {geometry.geom_type}")
    return geometry


def _check_coverage(shapes: list[Polygon], kind: str) -> None:
    """Fail loudly unless the stored (rounded) polygons are valid and form a clean coverage."""
    stored = np.asarray([shapely.from_geojson(json_polygon(s)) for s in shapes])
    if not shapely.is_valid(stored).all():
        raise RuntimeError(f"a demo {kind} polygon is invalid after rounding")
    if len(stored) > 1 and not shapely.coverage_is_valid(stored):
        raise RuntimeError(f"demo {kind} polygons overlap or do not share edges")


def geojson(shape: Polygon) -> dict[str, Any]:
    """A polygon as GeoJSON, rounded to the stored 6 decimals."""
    oriented = shapely.orient_polygons(shape)  # RFC 7946: exterior counter-clockwise
    rings = [oriented.exterior, *oriented.interiors]
    return {
        "type": "Polygon",
        "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring.coords] for ring in rings],
    }


def json_polygon(shape: Polygon) -> str:
    """A polygon as the GeoJSON text the org rows store."""
    return json.dumps(geojson(shape))


def _assign_grid_types(grids: list[Org], rng: np.random.Generator) -> None:
    """About 3 % special grids (at most one per village), the rest residential; then names."""
    villages = [v for v in dict.fromkeys(g.parent for g in grids) if v is not None]
    special_count = min(len(villages), max(len(SPECIAL_GRID_TYPES), round(0.03 * len(grids))))
    types = np.resize(np.asarray(SPECIAL_GRID_TYPES), special_count)
    types = rng.permutation(types)
    chosen = rng.choice(len(villages), size=special_count, replace=False)
    special: dict[str, str] = {}
    for village_index, grid_type in zip(chosen.tolist(), types.tolist(), strict=True):
        children = villages[village_index].children
        special[children[int(rng.integers(len(children)))].code] = str(grid_type)
    for village in villages:
        residential = 0
        for grid in village.children:
            grid.grid_type = special.get(grid.code, "residential")
            if grid.grid_type == "residential":
                residential += 1
                grid.name = f"{village.name}第{residential}网格"
            else:
                grid.name = f"{village.name}{kq.SPECIAL_GRID_NAMES[grid.grid_type]}"


def _assign_households(district: Org, rng: np.random.Generator) -> None:
    """Households within the configured caps and at least 30; parents hold their children's sums."""
    settings = get_settings()
    caps = {"urban": settings.household_cap_urban, "rural": settings.household_cap_rural}
    for town in district.children:
        for village in town.children:
            for grid in village.children:
                cap = caps[grid.area_type or "rural"]
                low = min(30, cap)
                if grid.grid_type == "residential":
                    low = max(low, int(cap * 0.55))
                    high = cap
                else:
                    high = max(low, cap // 4)
                grid.households = int(rng.integers(low, high + 1))
                grid.population = round(grid.households * rng.uniform(2.4, 3.2))
            _sum_children(village)
        _sum_children(town)
    _sum_children(district)


def _sum_children(node: Org) -> None:
    node.households = sum(c.households or 0 for c in node.children)
    node.population = sum(c.population or 0 for c in node.children)


def _assign_ids(district: Org) -> None:
    """Ids level by level in code order: district 1, then towns, villages, grids."""
    level = [district]
    next_id = 1
    while level:
        for node in level:
            node.id = next_id
            next_id += 1
        level = [child for node in level for child in node.children]


def org_rows(district: Org) -> list[Row]:
    """The org unit rows of the plan, level by level from the district down."""
    rows: list[Row] = []
    level = [district]
    while level:
        for node in level:
            minx, miny, maxx, maxy = node.shape.bounds
            rows.append(
                {
                    "id": node.id,
                    "code": node.code,
                    "name": node.name,
                    "kind": node.kind,
                    "parent_id": node.parent.id if node.parent else None,
                    "path": node.path,
                    "area_type": node.area_type,
                    "village_type": node.village_type,
                    "grid_type": node.grid_type,
                    "households": node.households,
                    "population": node.population,
                    "geometry": geojson(node.shape),
                    "min_lng": round(minx, 6),
                    "min_lat": round(miny, 6),
                    "max_lng": round(maxx, 6),
                    "max_lat": round(maxy, 6),
                    "valid_from": CREATED_AT,
                    "valid_to": None,
                }
            )
        level = [child for node in level for child in node.children]
    return rows

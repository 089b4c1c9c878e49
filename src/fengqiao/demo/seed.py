"""The deterministic demo district behind `fengqiao seed`: Keqiao's 16 towns with synthetic
villages, grids, responsible units, people, points of interest and cameras.
"""

from __future__ import annotations

import json
import math
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import shapely
from shapely.geometry import Polygon
from sqlalchemy import Connection, func, insert, select, text, update

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.auth.security import hash_password
from fengqiao.cameras.models import Camera
from fengqiao.clock import Clock
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.demo import keqiao as kq
from fengqiao.demo import patrols as demo_patrols
from fengqiao.demo import services as demo_services
from fengqiao.demo.devices import seed_devices
from fengqiao.geo.locator import GridIndex, GridShape
from fengqiao.geo.models import LayerFeature
from fengqiao.intake.service import import_intake
from fengqiao.org.codes import child_code, reading_order
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit
from fengqiao.taxonomy.service import import_taxonomy

Progress = Callable[[str, int, int], None]
Row = dict[str, Any]

# Every stored coordinate lies on this grid (6 decimals, about 0.1 m), so neighbouring polygons
# can share their vertices exactly.
GRID_SIZE = 1e-6
# A fixed timestamp keeps two seeds of the same input byte-identical.
CREATED_AT = datetime(2020, 1, 1, tzinfo=UTC)
BATCH_ROWS = 5000
LLOYD_ITERATIONS = 2
# (duty, role) of a grid's four workers, suffixed a-d in their usernames.
DUTIES = (
    ("leader", "grid_leader"),
    ("full_time", "grid_worker"),
    ("part_time", "grid_worker"),
    ("instructor", "grid_worker"),
)
SPECIAL_GRID_TYPES = ("market", "enterprise", "school")


@dataclass
class SeedReport:
    """What `seed` built and how long it took."""

    towns: int
    villages: int
    grids: int
    special_grids: int
    units: int
    users: int
    grid_workers: int
    agency_staff: int
    cameras: int
    pois: int
    seconds: float
    patrols: int = 0
    iot_devices: int = 0
    device_keys: dict[str, str] = field(default_factory=dict)  # type → "code key", shown once
    positions: int = 0
    service_items: int = 0
    proxy_requests: int = 0


@dataclass(frozen=True)
class _Scale:
    towns: tuple[str, ...] | None  # None: all 16
    villages: int
    grids: int
    cameras: int
    pois: dict[str, int]
    staff_per_agency: tuple[int, int]  # alternating between agencies: 4.5 on average for (5, 4)
    operators: int = 2  # per town; the district has 3
    leaders: int = 2
    devices: tuple[int, int] = (3, 3)  # IoT: water-quality sensors, smoke detectors


SCALES: dict[str, _Scale] = {
    "keqiao": _Scale(
        towns=None,
        villages=340,
        grids=1700,
        cameras=30_000,
        pois={
            "hospital": 40,
            "school": 160,
            "emergency_resource": 300,
            "enterprise": 3000,
            "hydrant": 1000,
        },
        staff_per_agency=(5, 4),
        devices=(120, 280),
    ),
    "small": _Scale(
        towns=(kq.DEMO_TOWN,),
        villages=5,
        grids=25,
        cameras=200,
        pois={"hospital": 1, "school": 5, "emergency_resource": 9, "enterprise": 25, "hydrant": 10},
        staff_per_agency=(4, 4),
    ),
}

# (username, role, description): the accounts a demo visitor logs in with.
DEMO_ACCOUNTS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "系统管理员：维护组织架构、用户、事件分类与流转规则"),
    ("demo_grid_worker", "grid_worker", "柯桥街道一个网格的专职网格员：巡查、上报、自办、代办"),
    ("demo_grid_leader", "grid_leader", "同一网格的网格长：查看并督促本网格事件"),
    ("demo_operator", "operator", "柯桥街道综合信息指挥室坐席：受理、交办、核查、结案"),
    ("demo_district_operator", "operator", "区综合信息指挥中心坐席：全区受理、协调与督办"),
    ("demo_handler", "handler", "柯桥街道综合行政执法中队处置人员：签收、处置、反馈"),
    ("demo_leader", "leader", "柯桥街道分管领导：研判、督办、考核本街道"),
    ("demo_district_leader", "leader", "区领导：全区研判、督办、考核与通报"),
    ("demo_resident", "resident", "柯桥街道一个村（社区）的居民：随手拍上报、查看进度、评价"),
    ("demo_device", "device", "物联网设备接入账号：设备告警自动生成事件"),
)


def demo_accounts() -> list[tuple[str, str, str]]:
    """(username, role, description zh) of the named demo accounts, the same for both scales."""
    return list(DEMO_ACCOUNTS)


@dataclass(eq=False)  # compared and hashed by identity
class _Org:
    """One org unit of the plan, before it becomes a row."""

    code: str
    name: str
    kind: str
    parent: _Org | None
    shape: Polygon
    area_type: str | None = None
    village_type: str | None = None
    grid_type: str | None = None
    households: int | None = None
    population: int | None = None
    id: int = 0
    children: list[_Org] = field(default_factory=list)

    @property
    def path(self) -> str:
        return f"{self.parent.path if self.parent else '/'}{self.id}/"


def seed(
    *,
    db: Database,
    scale: str,
    password: str,
    seed: int = 20171018,
    progress: Progress | None = None,
    now: datetime | None = None,
) -> SeedReport:
    """Build the deterministic demo district into an empty, migrated database; today's patrols
    are relative to `now` (default: the clock)."""
    started = time.perf_counter()
    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r}: choose one of {', '.join(SCALES)}")
    with db.engine.connect() as conn:
        _refuse_non_empty(conn)
    report_progress: Progress = progress or (lambda stage, done, total: None)
    rng = np.random.default_rng(seed)
    spec = SCALES[scale]

    district = _plan_district(spec, rng, report_progress)
    towns = district.children
    villages = [v for t in towns for v in t.children]
    grids = [g for v in villages for g in v.children]
    report_progress("people and places", 0, 3)
    units, unit_ids = _plan_units(district, rng)
    users, roles, assignments, agency_staff = _plan_users(spec, district, unit_ids, rng, password)
    report_progress("people and places", 1, 3)
    features = _plan_features(spec, grids, rng)
    features += _plan_devices(spec, grids, rng, first_id=len(features) + 1)
    report_progress("people and places", 3, 3)
    patrols = _plan_patrols(grids, users, assignments, rng, now or Clock().now())
    camera_rows = _plan_camera_statuses(features, seed, now or Clock().now())

    tables: list[tuple[str, Any, list[Row]]] = [
        ("org units", OrgUnit, _org_rows(district)),
        ("units", Unit, units),
        ("users", User, users),
        ("users", UserRole, roles),
        ("users", GridAssignment, assignments),
        ("map layers", LayerFeature, features),
        ("map layers", Camera, camera_rows),
    ]
    with db.transaction() as session:
        conn = session.connection()
        _refuse_non_empty(conn)
        stage_rows = Counter[str]()
        for stage, _, rows in tables:
            stage_rows[stage] += len(rows)
        stage_done = Counter[str]()
        for stage, model, rows in tables:
            for batch_rows in _insert(conn, model, rows):
                stage_done[stage] += batch_rows
                report_progress(stage, stage_done[stage], stage_rows[stage])
        _finish(conn)
        report_progress("patrols", 0, len(patrols.positions))
        demo_patrols.insert_plan(conn, patrols)
        report_progress("patrols", len(patrols.positions), len(patrols.positions))
        # The shipped classes, routing rules and SLA policies: the event center needs them.
        import_taxonomy(db=session)
        # The service catalogue (最多跑一次) and the demo town's proxy requests (代办).
        services = demo_services.seed_services(
            db=session, now=now or Clock().now(), created_at=CREATED_AT, seed=seed
        )
        # The business modules (民情通, 食安通, 智慧安监, 河长通) and the classes' extra questions.
        import_intake(db=session)
        # The IoT registry: the map's sensors as devices, and the shipped alarm rules.
        devices = seed_devices(db=session, features=features, users=users, created_at=CREATED_AT)

    cameras = sum(1 for f in features if f["kind"] == "camera")
    return SeedReport(
        towns=len(towns),
        villages=len(villages),
        grids=len(grids),
        special_grids=sum(1 for g in grids if g.grid_type != "residential"),
        units=len(units),
        users=len(users),
        grid_workers=len(assignments),
        agency_staff=agency_staff,
        cameras=cameras,
        pois=len(features) - cameras,
        seconds=round(time.perf_counter() - started, 3),
        patrols=len(patrols.patrols),
        positions=len(patrols.positions),
        service_items=services.items,
        proxy_requests=services.requests,
        iot_devices=devices.count,
        device_keys=devices.keys,
    )


def _refuse_non_empty(conn: Connection) -> None:
    for model in (OrgUnit, Unit, User, LayerFeature):
        if conn.execute(select(func.count()).select_from(model)).scalar_one():
            raise ValueError(
                f"the demo seed needs an empty database, but table {model.__tablename__} "
                "already has rows"
            )


def _insert(conn: Connection, model: Any, rows: list[Row]) -> Iterator[int]:
    """Insert `rows`, yielding the size of each batch as it is written."""
    # Core executemany in large batches: the ORM's unit of work is ~2.5x slower per row.
    for start in range(0, len(rows), BATCH_ROWS):
        batch = rows[start : start + BATCH_ROWS]
        conn.execute(insert(model), batch)
        yield len(batch)


def _finish(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        # Ids were given explicitly, which does not move PostgreSQL's sequences.
        for model in (OrgUnit, Unit, User, LayerFeature):
            name = model.__tablename__
            conn.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                    f"(SELECT MAX(id) FROM {name}))"
                )
            )
    counter = conn.execute(
        select(ChangeCounter.value).where(ChangeCounter.name == "grids")
    ).scalar_one_or_none()
    if counter is None:
        conn.execute(insert(ChangeCounter), [{"name": "grids", "value": 1}])
    else:
        conn.execute(
            update(ChangeCounter).where(ChangeCounter.name == "grids").values(value=counter + 1)
        )


# --- boundaries -------------------------------------------------------------------------------


def _plan_district(spec: _Scale, rng: np.random.Generator, progress: Progress) -> _Org:
    """The org tree with snapped boundaries, codes, names, types and households; ids assigned."""
    box = shapely.box(*kq.DISTRICT_BBOX)
    district = _Org(
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
        town_node = _Org(
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
    town: _Org,
    shape: Polygon,
    grid_shapes: list[Polygon],
    rng: np.random.Generator,
    used_stems: set[str],
) -> _Org:
    is_community = town.area_type == "urban" and rng.random() < 0.75
    village_type = "community" if is_community else "village"
    stem = _village_stem(rng, used_stems)
    village = _Org(
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
            _Org(
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
    points = _points_in(region, count, rng)
    for iteration in range(LLOYD_ITERATIONS + 1):
        diagram = shapely.voronoi_polygons(
            shapely.multipoints(points), extend_to=region, ordered=True
        )
        cells = shapely.intersection(shapely.get_parts(diagram), region)
        if iteration == LLOYD_ITERATIONS:
            return [_as_polygon(c) for c in cells]
        points = shapely.get_coordinates(shapely.centroid(cells))
    raise AssertionError("unreachable")


def _points_in(region: Any, count: int, rng: np.random.Generator) -> np.ndarray:
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
    stored = np.asarray([shapely.from_geojson(_json_polygon(s)) for s in shapes])
    if not shapely.is_valid(stored).all():
        raise RuntimeError(f"a demo {kind} polygon is invalid after rounding")
    if len(stored) > 1 and not shapely.coverage_is_valid(stored):
        raise RuntimeError(f"demo {kind} polygons overlap or do not share edges")


def _geojson(shape: Polygon) -> dict[str, Any]:
    oriented = shapely.orient_polygons(shape)  # RFC 7946: exterior counter-clockwise
    rings = [oriented.exterior, *oriented.interiors]
    return {
        "type": "Polygon",
        "coordinates": [[[round(x, 6), round(y, 6)] for x, y in ring.coords] for ring in rings],
    }


def _json_polygon(shape: Polygon) -> str:
    return json.dumps(_geojson(shape))


def _assign_grid_types(grids: list[_Org], rng: np.random.Generator) -> None:
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


def _assign_households(district: _Org, rng: np.random.Generator) -> None:
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


def _sum_children(node: _Org) -> None:
    node.households = sum(c.households or 0 for c in node.children)
    node.population = sum(c.population or 0 for c in node.children)


def _assign_ids(district: _Org) -> None:
    """Ids level by level in code order: district 1, then towns, villages, grids."""
    level = [district]
    next_id = 1
    while level:
        for node in level:
            node.id = next_id
            next_id += 1
        level = [child for node in level for child in node.children]


def _org_rows(district: _Org) -> list[Row]:
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
                    "geometry": _geojson(node.shape),
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


# --- units and people ------------------------------------------------------------------------


def _plan_units(district: _Org, rng: np.random.Generator) -> tuple[list[Row], dict[str, int]]:
    """Unit rows, and unit ids by `<org code>:<unit_type>` (coordination groups: by platform)."""
    rows: list[Row] = []
    ids: dict[str, int] = {}
    phones = _unique_numbers(rng, 10**7)

    def add(org: _Org, sequence: int, kind: kq.UnitKind, category: str, name: str) -> None:
        unit_id = len(rows) + 1
        key = kind.unit_type if category != "coordination_group" else f"group_{kind.platform}"
        ids[f"{org.code}:{key}"] = unit_id
        rows.append(
            {
                "id": unit_id,
                "code": f"U{org.code}{sequence:02d}",
                "name": name,
                "unit_type": kind.unit_type,
                "category": category,
                "platform": kind.platform,
                "org_unit_id": org.id,
                "phone": f"0575-8{next(phones):07d}",
                "duty_phone": f"0575-8{next(phones):07d}",
                "active": True,
            }
        )

    for sequence, kind in enumerate(kq.DISTRICT_DEPARTMENTS, start=1):
        add(district, sequence, kind, "district_department", kind.name)
    town_kinds = [(k, "agency") for k in kq.AGENCIES]
    town_kinds += [(k, "town_office") for k in kq.TOWN_OFFICES]
    town_kinds += [(k, "coordination_group") for k in kq.COORDINATION_GROUPS]
    for town in district.children:
        for sequence, (kind, category) in enumerate(town_kinds, start=1):
            add(town, sequence, kind, category, f"{town.name}{kind.name}")
    for town in district.children:
        for village in town.children:
            committee = kq.VILLAGE_COMMITTEE[village.village_type or "village"]
            kind = kq.UnitKind(committee, "village_committee", None)
            add(village, 1, kind, "village_committee", f"{village.name}{committee}")
    return rows, ids


def _unique_numbers(rng: np.random.Generator, upper: int) -> Iterator[int]:
    """Distinct random integers below `upper`, drawn in batches."""
    seen: set[int] = set()
    while True:
        for number in rng.integers(0, upper, size=1024).tolist():
            if number not in seen:
                seen.add(number)
                yield number


@dataclass
class _People:
    """Accumulates user, role and grid-assignment rows; named demo accounts take given slots."""

    rng: np.random.Generator
    password_hash: str
    renames: dict[str, str]
    users: list[Row] = field(default_factory=list)
    roles: list[Row] = field(default_factory=list)
    assignments: list[Row] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._phones = _unique_numbers(self.rng, 10**9)

    def add(
        self,
        username: str,
        role: str,
        home: _Org,
        *,
        unit_id: int | None = None,
        name: str | None = None,
        grid_duty: str | None = None,
        phone: bool = True,
        also: tuple[str, ...] = (),
    ) -> None:
        user_id = len(self.users) + 1
        self.users.append(
            {
                "id": user_id,
                "username": self.renames.get(username, username),
                "name": name or self._person_name(),
                "phone": f"13{next(self._phones):09d}" if phone else None,
                "password_hash": self.password_hash,
                "home_org_id": home.id,
                "unit_id": unit_id,
                "is_active": True,
                "is_demo": True,
                "created_at": CREATED_AT,
            }
        )
        self.roles.append({"user_id": user_id, "role": role})
        self.roles.extend({"user_id": user_id, "role": extra} for extra in also)
        if grid_duty is not None:
            self.assignments.append({"user_id": user_id, "grid_id": home.id, "duty": grid_duty})

    def _person_name(self) -> str:
        surname = kq.SURNAMES[int(self.rng.integers(len(kq.SURNAMES)))]
        size = 1 if self.rng.random() < 0.3 else 2
        chars = self.rng.integers(len(kq.GIVEN_NAME_CHARS), size=size).tolist()
        return surname + "".join(kq.GIVEN_NAME_CHARS[c] for c in chars)


# A unit's head also handles its events, and is told when they run overdue.
HEAD = ("unit_leader",)


def _plan_users(
    spec: _Scale,
    district: _Org,
    unit_ids: dict[str, int],
    rng: np.random.Generator,
    password: str,
) -> tuple[list[Row], list[Row], list[Row], int]:
    """User, role and grid-assignment rows, and how many agency staff there are."""
    demo_town = next(t for t in district.children if t.name == kq.DEMO_TOWN)
    demo_village = demo_town.children[0]
    demo_grid = next(g for g in demo_village.children if g.grid_type == "residential")
    renames = {
        f"gw{demo_grid.code}a": "demo_grid_leader",
        f"gw{demo_grid.code}b": "demo_grid_worker",
        f"u{demo_town.code}01_1": "demo_handler",  # its law-enforcement squadron
        f"op{demo_town.code}_1": "demo_operator",
        f"ld{demo_town.code}_1": "demo_leader",
        f"op{district.code}_1": "demo_district_operator",
        f"ld{district.code}_1": "demo_district_leader",
    }
    # One argon2 hash for every demo account: hashing ~8,000 passwords one by one would take
    # minutes, and demo accounts share the password anyway.
    people = _People(rng, hash_password(password), renames)
    people.add("admin", "admin", district, name="系统管理员", phone=False)
    people.add("demo_resident", "resident", demo_village)
    people.add("demo_device", "device", district, name="物联网设备网关", phone=False)

    for org, count in [(district, 3), *((t, spec.operators) for t in district.children)]:
        for n in range(1, count + 1):
            people.add(f"op{org.code}_{n}", "operator", org)
        for n in range(1, (3 if org is district else spec.leaders) + 1):
            people.add(f"ld{org.code}_{n}", "leader", org)
    for sequence, kind in enumerate(kq.DISTRICT_DEPARTMENTS, start=1):
        unit_id = unit_ids[f"{district.code}:{kind.unit_type}"]
        people.add(
            f"u{district.code}{sequence:02d}_1", "handler", district, unit_id=unit_id, also=HEAD
        )

    agency_staff = 0
    for town_index, town in enumerate(district.children):
        for sequence, kind in enumerate(kq.AGENCIES, start=1):
            unit_id = unit_ids[f"{town.code}:{kind.unit_type}"]
            staff = spec.staff_per_agency[(town_index + sequence) % 2]
            for n in range(1, staff + 1):
                head = HEAD if n == staff else ()  # the last of the staff heads the unit
                people.add(
                    f"u{town.code}{sequence:02d}_{n}", "handler", town, unit_id=unit_id, also=head
                )
            agency_staff += staff
        single = [(k, k.unit_type) for k in kq.TOWN_OFFICES]
        single += [(k, f"group_{k.platform}") for k in kq.COORDINATION_GROUPS]
        for sequence, (_, key) in enumerate(single, start=len(kq.AGENCIES) + 1):
            unit_id = unit_ids[f"{town.code}:{key}"]
            people.add(f"u{town.code}{sequence:02d}_1", "handler", town, unit_id=unit_id, also=HEAD)

    # Each village committee has one member who signs and handles what routing sends it.
    for town in district.children:
        for village in town.children:
            unit_id = unit_ids[f"{village.code}:village_committee"]
            people.add(f"u{village.code}01_1", "handler", village, unit_id=unit_id, also=HEAD)

    for town in district.children:
        for village in town.children:
            for grid in village.children:
                for letter, (duty, role) in zip("abcd", DUTIES, strict=True):
                    people.add(f"gw{grid.code}{letter}", role, grid, grid_duty=duty)
    return people.users, people.roles, people.assignments, agency_staff


# --- map layers --------------------------------------------------------------------------------

Feature = tuple[str, int, str, dict[str, Any], str | None]  # kind, grid index, name, props, code


@dataclass
class _Features:
    """Accumulates POIs and cameras, each tied to the grid it will be placed in."""

    grids: list[_Org]
    rng: np.random.Generator
    planned: list[Feature] = field(default_factory=list)
    used_names: set[str] = field(default_factory=set)
    numbers: dict[tuple[str, str], int] = field(default_factory=dict)

    def add(
        self, kind: str, grid: int, name: str, props: dict[str, Any], code: str | None = None
    ) -> None:
        self.planned.append((kind, grid, name, props, code))

    def pick(self, count: int, weights: np.ndarray) -> list[int]:
        """`count` grid indices drawn with `weights`, sorted so a grid's features sit together."""
        if count <= 0:
            return []
        chosen = self.rng.choice(len(self.grids), size=count, p=weights / weights.sum())
        return sorted(chosen.tolist())

    def draw(self, choices: Sequence[str]) -> str:
        return choices[int(self.rng.integers(len(choices)))]

    def numbered(self, kind: str, grid: int) -> int:
        """1, 2, ... per kind within the grid's village, so such names never clash."""
        key = (kind, _parent(self.grids[grid]).code)
        self.numbers[key] = self.numbers.get(key, 0) + 1
        return self.numbers[key]

    def unique(self, prefix: str, middles: Sequence[str], suffix: str = "") -> str:
        """`prefix + a drawn middle + suffix`, not used before; after a few clashes, numbered."""
        name = prefix + self.draw(middles) + suffix
        for _ in range(8):
            if name not in self.used_names:
                break
            name = prefix + self.draw(middles) + suffix
        base, n = name, 1
        while name in self.used_names:
            n += 1
            name = f"{base}{n}"
        self.used_names.add(name)
        return name

    def rows(self, first_id: int = 1) -> list[Row]:
        """Rows with coordinates drawn inside each grid's stored polygon, a grid at a time."""
        per_grid = np.bincount([f[1] for f in self.planned], minlength=len(self.grids))
        points: dict[int, Iterator[list[float]]] = {}
        for i in np.flatnonzero(per_grid).tolist():
            stored = shapely.from_geojson(_json_polygon(self.grids[i].shape))
            points[i] = iter(_points_in(stored, int(per_grid[i]), self.rng).tolist())
        rows: list[Row] = []
        for feature_id, (kind, i, name, props, code) in enumerate(self.planned, start=first_id):
            lng, lat = next(points[i])
            rows.append(
                {
                    "id": feature_id,
                    "kind": kind,
                    "code": code,
                    "name": name,
                    "lng": lng,
                    "lat": lat,
                    "grid_id": self.grids[i].id,
                    "props": props,
                }
            )
        return rows


def _plan_features(spec: _Scale, grids: list[_Org], rng: np.random.Generator) -> list[Row]:
    """POIs and cameras, each generated inside a chosen grid so its grid_id is known."""
    out = _Features(grids, rng)
    urban = np.asarray([g.area_type == "urban" for g in grids])
    grid_type = np.asarray([g.grid_type for g in grids])
    villages = [_parent(g) for g in grids]
    stems = [v.name.removesuffix("社区").removesuffix("村") for v in villages]

    # Hospitals: a health centre in each town first, then private hospitals.
    towns = list(dict.fromkeys(_parent(v) for v in villages))[: spec.pois["hospital"]]
    for town in towns:
        in_town = [i for i, v in enumerate(villages) if v.parent is town]
        i = in_town[int(rng.integers(len(in_town)))]
        suffix = "社区卫生服务中心" if town.area_type == "urban" else "卫生院"
        out.add("hospital", i, f"{town.name}{suffix}", {"beds": int(rng.integers(30, 150))})
    for i in out.pick(spec.pois["hospital"] - len(towns), np.where(urban, 3.0, 1.0)):
        name = out.unique(stems[i], kq.HOSPITAL_SUFFIXES)
        out.add("hospital", i, name, {"beds": int(rng.integers(20, 500))})

    # Schools: one in every school grid, the rest more often in urban grids.
    school_grids = [i for i, g in enumerate(grids) if g.grid_type == "school"]
    school_grids = school_grids[: spec.pois["school"]]
    extra = out.pick(spec.pois["school"] - len(school_grids), np.where(urban, 2.0, 1.0))
    for i in sorted(school_grids + extra):
        stage, low, high = kq.SCHOOL_STAGES[int(rng.integers(len(kq.SCHOOL_STAGES)))]
        name = out.unique(stems[i], (stage,))
        out.add("school", i, name, {"students": int(rng.integers(low, high))})

    for i in out.pick(spec.pois["emergency_resource"], np.ones(len(grids))):
        name = f"{villages[i].name}应急物资储备点{out.numbered('emergency', i):02d}"
        props = {
            "resource": out.draw(kq.EMERGENCY_RESOURCES),
            "quantity": int(rng.integers(10, 500)),
        }
        out.add("emergency_resource", i, name, props)

    weights = np.where(grid_type == "enterprise", 30.0, np.where(urban, 1.0, 1.5))
    words = kq.ENTERPRISE_WORDS
    trade_names = [
        p + a + b for p in kq.ENTERPRISE_PREFIXES for a in words for b in words if a != b
    ]
    for i in out.pick(spec.pois["enterprise"], weights):
        industry = out.draw(kq.INDUSTRIES)
        name = out.unique("", trade_names, f"{industry}有限公司")
        props = {"industry": industry, "employees": int(rng.integers(8, 600))}
        out.add("enterprise", i, name, props)

    for i in out.pick(spec.pois["hydrant"], np.where(urban, 2.0, 1.0)):
        name = f"{villages[i].name}消火栓{out.numbered('hydrant', i):03d}"
        out.add("hydrant", i, name, {"type": out.draw(kq.HYDRANT_TYPES), "pressure_mpa": 0.3})

    # GB/T 28181 ids: 8-digit centre, 2-digit industry, 3-digit type (132: IP camera), serial.
    weights = np.where(urban, 3.0, 1.0) * np.where(grid_type == "market", 3.0, 1.0)
    for serial, i in enumerate(out.pick(spec.cameras, weights), start=1):
        code = f"{kq.DISTRICT_CODE}00" + "00" + "132" + f"{serial:07d}"
        place = out.draw(kq.CAMERA_PLACES)
        name = f"{villages[i].name}{place}监控{out.numbered('camera', i):03d}"
        props = {
            "stream_url": f"rtsp://video.example.invalid/{code}",
            "vendor": out.draw(kq.CAMERA_VENDORS),
        }
        out.add("camera", i, name, props, code)
    return out.rows()


def _plan_camera_statuses(features: list[Row], seed: int, now: datetime) -> list[Row]:
    """The registry row of every camera: most online and seen within the last minutes, some
    offline since hours or days, a few faulty. Drawn from a generator of its own, so the places
    of everything else stay where they were."""
    rng = np.random.default_rng(seed + 28181)
    rows: list[Row] = []
    for feature in features:
        if feature["kind"] != "camera":
            continue
        draw = float(rng.random())
        status = "online" if draw < 0.94 else "offline" if draw < 0.99 else "fault"
        minutes = float(rng.uniform(0, 5)) if status == "online" else float(rng.uniform(60, 7200))
        seen = now - timedelta(minutes=minutes)
        rows.append(
            {
                "feature_id": feature["id"],
                "status": status,
                "last_seen_at": seen,
                "status_at": seen,
                "updated_at": now,
            }
        )
    return rows


def _plan_devices(
    spec: _Scale, grids: list[_Org], rng: np.random.Generator, *, first_id: int
) -> list[Row]:
    """IoT devices on the map: water-quality sensors on rural rivers, smoke detectors in urban
    rental housing. Planned after every other feature, so those stay where they were."""
    out = _Features(grids, rng)
    urban = np.asarray([g.area_type == "urban" for g in grids])
    water, smoke = spec.devices
    kinds = (
        ("water_quality", "水质传感器", "河道水质监测点", "WQ", water, np.where(urban, 1.0, 3.0)),
        ("smoke_detector", "烟感探测器", "出租房烟感", "SD", smoke, np.where(urban, 4.0, 1.0)),
    )
    for device_type, label, place, prefix, count, weights in kinds:
        for serial, i in enumerate(out.pick(count, weights), start=1):
            name = f"{_parent(grids[i]).name}{place}{out.numbered(device_type, i):02d}"
            props = {"device_type": device_type, "label_zh": label, "status": "online"}
            out.add("iot_device", i, name, props, f"IOT-{prefix}-{serial:05d}")
    return out.rows(first_id=first_id)


def _plan_patrols(
    grids: list[_Org],
    users: list[Row],
    assignments: list[Row],
    rng: np.random.Generator,
    now: datetime,
) -> demo_patrols.PatrolPlan:
    """Today's patrols of the grid workers, each starting somewhere inside their grid."""
    by_id = {g.id: g for g in grids}
    index = GridIndex.build(
        [
            GridShape(g.id, g.code, _parent(g).id, _parent(_parent(g)).id, _geojson(g.shape))
            for g in grids
        ]
    )
    per_grid = Counter(a["grid_id"] for a in assignments)
    starts: dict[int, Iterator[list[float]]] = {}
    for grid_id, count in sorted(per_grid.items()):
        stored = shapely.from_geojson(_json_polygon(by_id[grid_id].shape))
        starts[grid_id] = iter(_points_in(stored, count, rng).tolist())
    walkers = []
    for assignment in sorted(assignments, key=lambda a: a["user_id"]):
        grid = by_id[assignment["grid_id"]]
        lng, lat = next(starts[grid.id])
        walkers.append(
            demo_patrols.Walker(
                assignment["user_id"], grid.id, grid.path, grid.shape.bounds, (lng, lat)
            )
        )
    demo_worker = next(u["id"] for u in users if u["username"] == "demo_grid_worker")
    return demo_patrols.plan_patrols(
        walkers, index=index, now=now, rng=rng, closed_user=demo_worker
    )


def _parent(node: _Org) -> _Org:
    if node.parent is None:
        raise ValueError(f"{node.code} has no parent")
    return node.parent

"""The province-sized demo behind `fengqiao seed --scale zhejiang`: 浙江省 with its 11 cities and
90 districts and counties (real codes and names), about 1,360 towns, 20,000 villages, 85,000
grids and 340,000 grid workers on synthetic rectangles tiled over the province's extent; each
district gets the keqiao seed's units (12 agencies per town, offices, groups, village committees)
and people, and the province and every city a command center with operators and leaders.

Rows are written in bulk: COPY on PostgreSQL, executemany on SQLite. Events go through the keqiao
seed's planner (demo/events.py: the same routing, deadline and trail code), district by district.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import orjson
import shapely
from sqlalchemy import Connection, insert

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.auth.security import hash_password
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.demo import keqiao as kq
from fengqiao.demo.people import HEAD, plan_units
from fengqiao.demo.plan import CREATED_AT, DUTIES, Org, Progress, Row
from fengqiao.demo.seed import _finish, _refuse_non_empty
from fengqiao.demo.zhejiang_data import (
    CITIES,
    PROVINCE_BBOX,
    PROVINCE_CODE,
    PROVINCE_LOGIN,
    PROVINCE_NAME,
    TOWN_FIRST,
    TOWN_SECOND,
    ZHEJIANG,
    ProvinceSize,
)
from fengqiao.intake.service import import_intake
from fengqiao.org.codes import child_code
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.taxonomy.service import import_taxonomy

Box = tuple[float, float, float, float]
COPY_BATCH = 50_000


@dataclass
class ProvinceReport:
    """What `seed_province` built and how long it took."""

    cities: int
    districts: int
    towns: int
    villages: int
    grids: int
    units: int
    users: int
    grid_workers: int
    seconds: float
    # (username, role, description zh) of the command centers' logins.
    logins: list[tuple[str, str, str]]


# ---------------------------------------------------------------------------- the tree


def _apportion(weights: Sequence[float], total: int, minimum: int = 1) -> list[int]:
    """Split `total` into parts of at least `minimum`, the rest in proportion to `weights`."""
    spare = total - minimum * len(weights)
    if spare < 0:
        raise ValueError(f"cannot give {len(weights)} parts at least {minimum} out of {total}")
    quota = spare * np.asarray(weights, dtype=float) / float(sum(weights))
    parts = np.floor(quota).astype(int)
    order = sorted(range(len(weights)), key=lambda i: (parts[i] - quota[i], i))
    for i in order[: spare - int(parts.sum())]:
        parts[i] += 1
    return [minimum + int(p) for p in parts]


def tile(box: Box, weights: Sequence[float]) -> list[Box]:
    """Rectangles tiling `box` exactly, one per weight with an area in proportion to it: rows of
    about equal count, west→east within a row, rows north→south; edges rounded to 6 decimals so
    that neighbours share them exactly."""
    n = len(weights)
    minx, miny, maxx, maxy = box
    aspect = (maxy - miny) / (maxx - minx) if maxx > minx else 1.0
    rows = max(1, min(n, round(float(np.sqrt(n * aspect)))))
    counts = _apportion([1.0] * rows, n, 1)
    w = np.asarray(weights, dtype=float)
    cells: list[Box] = []
    start = 0
    row_weights = [float(w[start_ : start_ + c].sum()) for start_, c in _spans(counts)]
    top = maxy
    heights = np.cumsum(row_weights) / sum(row_weights)
    for (start, count), cut in zip(_spans(counts), heights.tolist(), strict=True):
        bottom = miny if cut >= 1.0 else round(maxy - (maxy - miny) * cut, 6)
        share = np.cumsum(w[start : start + count]) / w[start : start + count].sum()
        left = minx
        for index, right_cut in enumerate(share.tolist()):
            right = maxx if index == count - 1 else round(minx + (maxx - minx) * right_cut, 6)
            cells.append((left, bottom, right, top))
            left = right
        top = bottom
    return cells


def _spans(counts: Sequence[int]) -> Iterator[tuple[int, int]]:
    start = 0
    for count in counts:
        yield start, count
        start += count


def _node(code: str, name: str, kind: str, parent: Org | None, box: Box, **extra: Any) -> Org:
    node = Org(code=code, name=name, kind=kind, parent=parent, shape=shapely.box(*box), **extra)
    if parent is not None:
        parent.children.append(node)
    return node


def plan_province(size: ProvinceSize, rng: np.random.Generator) -> Org:
    """The province's org tree down to the grids, with ids, households and rectangles."""
    province = _node(PROVINCE_CODE, PROVINCE_NAME, "province", None, PROVINCE_BBOX)
    cities = [
        (code, name, districts[: size.districts_per_city or len(districts)])
        for code, name, _, districts in CITIES[: size.cities]
    ]
    city_boxes = tile(PROVINCE_BBOX, [len(d) for _, _, d in cities])
    district_specs: list[tuple[Org, str, str, Box]] = []
    for (code, name, districts), city_box in zip(cities, city_boxes, strict=True):
        city = _node(code, name, "city", province, city_box)
        for (d_code, d_name), d_box in zip(districts, tile(city_box, [1.0] * len(districts)), strict=True):  # fmt: skip
            district_specs.append((city, d_code, d_name, d_box))
    weights = rng.uniform(0.7, 1.3, len(district_specs))
    town_counts = _keqiao_keeps_its_towns(
        _apportion(weights.tolist(), size.towns, 1), [d_code for _, d_code, _, _ in district_specs]
    )
    settings = get_settings()
    caps = {"urban": settings.household_cap_urban, "rural": settings.household_cap_rural}
    towns: list[Org] = []
    for (city, d_code, d_name, d_box), town_count in zip(district_specs, town_counts, strict=True):
        district = _node(d_code, d_name, "district", city, d_box)
        names = _town_names(d_code, town_count, rng)
        for sequence, (t_box, (t_name, area_type)) in enumerate(
            zip(tile(d_box, [1.0] * town_count), names, strict=True), start=1
        ):
            if d_code == kq.DISTRICT_CODE and town_count == len(kq.TOWNS):
                sequence = kq.TOWNS[sequence - 1].sequence
            towns.append(
                _node(child_code(d_code, sequence), t_name, "town", district, t_box, area_type=area_type)
            )  # fmt: skip
    village_counts = _apportion(rng.uniform(0.6, 1.4, len(towns)).tolist(), size.villages, 1)
    villages: list[Org] = []
    for town, count in zip(towns, village_counts, strict=True):
        used: set[str] = set()
        for sequence, v_box in enumerate(tile(_box(town), [1.0] * count), start=1):
            community = town.area_type == "urban" and rng.random() < 0.75
            stem = _stem(kq.VILLAGE_FIRST, kq.VILLAGE_SECOND, rng, used)
            villages.append(
                _node(
                    child_code(town.code, sequence),
                    f"{stem}{'社区' if community else '村'}",
                    "village", town, v_box,
                    area_type="urban" if community else "rural",
                    village_type="community" if community else "village",
                )
            )  # fmt: skip
    grid_counts = _apportion(rng.uniform(0.6, 1.4, len(villages)).tolist(), size.grids, 1)
    for village, count in zip(villages, grid_counts, strict=True):
        cap = caps[village.area_type or "rural"]
        households = rng.integers(max(30, int(cap * 0.55)), cap + 1, count).tolist()
        for sequence, g_box in enumerate(tile(_box(village), [1.0] * count), start=1):
            hh = int(households[sequence - 1])
            _node(
                child_code(village.code, sequence), f"{village.name}第{sequence}网格", "grid",
                village, g_box, area_type=village.area_type, grid_type="residential",
                households=hh, population=round(hh * 2.8),
            )  # fmt: skip
    _sum_up(province)
    _assign_ids(province)
    return province


def _box(node: Org) -> Box:
    minx, miny, maxx, maxy = node.shape.bounds
    return (minx, miny, maxx, maxy)


def _keqiao_keeps_its_towns(counts: list[int], codes: list[str]) -> list[int]:
    """柯桥区 gets its 16 real towns (names and sequences from the keqiao seed); the difference
    goes to (or comes from) the district with the most towns, so the province's total stays."""
    if kq.DISTRICT_CODE not in codes or len(codes) < 2:
        return counts
    k = codes.index(kq.DISTRICT_CODE)
    others = [i for i in range(len(counts)) if i != k]
    largest = max(others, key=lambda i: counts[i])
    moved = counts[k] - len(kq.TOWNS)
    if counts[largest] + moved < 1:
        return counts
    out = list(counts)
    out[k], out[largest] = len(kq.TOWNS), counts[largest] + moved
    return out


def _town_names(district_code: str, count: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """(name, area type) of a district's towns: 街道 (urban) first, then 镇 (rural)."""
    if district_code == kq.DISTRICT_CODE and count == len(kq.TOWNS):
        return [(t.name, t.area_type) for t in kq.TOWNS]
    streets = max(1, count * 2 // 5)
    used: set[str] = set()
    return [
        (f"{_stem(TOWN_FIRST, TOWN_SECOND, rng, used)}{'街道' if i < streets else '镇'}",
         "urban" if i < streets else "rural")
        for i in range(count)
    ]  # fmt: skip


def _stem(first: str, second: str, rng: np.random.Generator, used: set[str]) -> str:
    while True:
        stem = first[int(rng.integers(len(first)))] + second[int(rng.integers(len(second)))]
        if stem[0] != stem[1] and stem not in used:
            used.add(stem)
            return stem
        if len(used) >= len(first) * len(second) // 2:  # many villages: allow a repeat
            return stem + str(len(used))


def _sum_up(node: Org) -> None:
    if node.children:
        for child in node.children:
            _sum_up(child)
        node.households = sum(c.households or 0 for c in node.children)
        node.population = sum(c.population or 0 for c in node.children)


def _assign_ids(root: Org) -> None:
    """Ids level by level in code order: the province 1, then cities, districts, towns, ..."""
    level, next_id = [root], 1
    while level:
        for node in level:
            node.id = next_id
            next_id += 1
        level = [child for node in level for child in node.children]


def _levels(root: Org) -> Iterator[Org]:
    level = [root]
    while level:
        yield from level
        level = [child for node in level for child in node.children]


def org_rows(root: Org) -> Iterator[Row]:
    """The org unit rows, level by level; a rectangle's GeoJSON counter-clockwise (RFC 7946)."""
    paths: dict[int, str] = {}
    for node in _levels(root):
        minx, miny, maxx, maxy = _box(node)
        path = f"{paths[node.parent.id] if node.parent else '/'}{node.id}/"
        paths[node.id] = path
        ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
        yield {
            "id": node.id, "code": node.code, "name": node.name, "kind": node.kind,
            "parent_id": node.parent.id if node.parent else None, "path": path,
            "area_type": node.area_type, "village_type": node.village_type,
            "grid_type": node.grid_type, "households": node.households,
            "population": node.population,
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "min_lng": minx, "min_lat": miny, "max_lng": maxx, "max_lat": maxy,
            "valid_from": CREATED_AT, "valid_to": None,
        }  # fmt: skip


# ---------------------------------------------------------------------------- units and people


def plan_all_units(province: Org, rng: np.random.Generator) -> tuple[list[Row], dict[str, int]]:
    """Each district's units as the keqiao seed plans them, ids and names made province-wide."""
    rows: list[Row] = []
    ids: dict[str, int] = {}
    for district in (n for n in _levels(province) if n.kind == "district"):
        units, unit_ids = plan_units(district, rng)
        offset = len(rows)
        for row in units:
            row["id"] += offset
            if row["org_unit_id"] == district.id:  # the district departments carry its name
                row["name"] = row["name"].replace(kq.DISTRICT_NAME, district.name)
        rows.extend(units)
        ids.update({key: value + offset for key, value in unit_ids.items()})
    return rows, ids


class _People:
    """User, role and grid-assignment rows, numbered from 1."""

    def __init__(self, rng: np.random.Generator, password: str) -> None:
        self.rng = rng
        self.hash = hash_password(password)  # one argon2 hash: demo accounts share a password
        self.users: list[Row] = []
        self.roles: list[Row] = []
        self.assignments: list[Row] = []
        self.names = self._names()

    def _names(self) -> Iterator[str]:
        while True:
            surnames = self.rng.integers(len(kq.SURNAMES), size=4096).tolist()
            firsts = self.rng.integers(len(kq.GIVEN_NAME_CHARS), size=4096).tolist()
            seconds = self.rng.integers(len(kq.GIVEN_NAME_CHARS), size=4096).tolist()
            single = (self.rng.random(4096) < 0.3).tolist()
            for s, a, b, one in zip(surnames, firsts, seconds, single, strict=True):
                given = kq.GIVEN_NAME_CHARS[a] + ("" if one else kq.GIVEN_NAME_CHARS[b])
                yield kq.SURNAMES[s] + given

    def add(self, username: str, role: str, home: Org, *, unit_id: int | None = None,
            name: str | None = None, duty: str | None = None, also: tuple[str, ...] = ()) -> None:  # fmt: skip
        user_id = len(self.users) + 1
        self.users.append(
            {
                "id": user_id, "username": username, "name": name or next(self.names),
                "phone": f"13{user_id:09d}", "password_hash": self.hash, "home_org_id": home.id,
                "unit_id": unit_id, "is_active": True, "is_demo": True, "created_at": CREATED_AT,
            }
        )  # fmt: skip
        self.roles.append({"user_id": user_id, "role": role})
        self.roles.extend({"user_id": user_id, "role": extra} for extra in also)
        if duty is not None:
            self.assignments.append({"user_id": user_id, "grid_id": home.id, "duty": duty})


def plan_people(
    size: ProvinceSize, province: Org, unit_ids: dict[str, int], rng: np.random.Generator,
    password: str,
) -> tuple[_People, list[tuple[str, str, str]]]:  # fmt: skip
    """Everyone: the command centers' logins, then each district's people as keqiao has them."""
    people = _People(rng, password)
    logins: list[tuple[str, str, str]] = []
    first_village = next(n for n in _levels(province) if n.kind == "village")
    people.add("admin", "admin", province, name="系统管理员")
    people.add("demo_resident", "resident", first_village)
    people.add("demo_device", "device", province, name="物联网设备网关")
    centers = [(province, PROVINCE_LOGIN)]
    centers += [(c, login) for c, (_, _, login, _) in zip(province.children, CITIES, strict=False)]
    for org, login in centers:
        for role, zh in (("operator", "指挥中心坐席"), ("leader", "领导")):
            people.add(f"{login}_{role}", role, org)
            logins.append((f"{login}_{role}", role, f"{org.name}{zh}：本{'省' if org is province else '市'}范围"))  # fmt: skip
    for district in (n for n in _levels(province) if n.kind == "district"):
        _district_people(size, district, unit_ids, people)
    return people, logins


def _district_people(
    size: ProvinceSize, district: Org, unit_ids: dict[str, int], people: _People
) -> None:
    for org, ops, leaders in [
        (district, size.district_operators, size.district_leaders),
        *((t, size.town_operators, size.town_leaders) for t in district.children),
    ]:
        for n in range(1, ops + 1):
            people.add(f"op{org.code}_{n}", "operator", org)
        for n in range(1, leaders + 1):
            people.add(f"ld{org.code}_{n}", "leader", org)
    for sequence, kind in enumerate(kq.DISTRICT_DEPARTMENTS, start=1):
        unit_id = unit_ids[f"{district.code}:{kind.unit_type}"]
        people.add(f"u{district.code}{sequence:02d}_1", "handler", district, unit_id=unit_id, also=HEAD)  # fmt: skip
    single = [k.unit_type for k in kq.TOWN_OFFICES]
    single += [f"group_{k.platform}" for k in kq.COORDINATION_GROUPS]
    for town_index, town in enumerate(district.children):
        for sequence, kind in enumerate(kq.AGENCIES, start=1):
            unit_id = unit_ids[f"{town.code}:{kind.unit_type}"]
            staff = size.staff_per_agency[(town_index + sequence) % 2]
            for n in range(1, staff + 1):
                people.add(f"u{town.code}{sequence:02d}_{n}", "handler", town, unit_id=unit_id,
                           also=HEAD if n == staff else ())  # fmt: skip
        for sequence, key in enumerate(single, start=len(kq.AGENCIES) + 1):
            unit_id = unit_ids[f"{town.code}:{key}"]
            people.add(f"u{town.code}{sequence:02d}_1", "handler", town, unit_id=unit_id, also=HEAD)  # fmt: skip
        for village in town.children:
            unit_id = unit_ids[f"{village.code}:village_committee"]
            people.add(f"u{village.code}01_1", "handler", village, unit_id=unit_id, also=HEAD)
            for grid in village.children:
                for letter, (duty, role) in zip("abcd", DUTIES, strict=True):
                    people.add(f"gw{grid.code}{letter}", role, grid, duty=duty)


# ---------------------------------------------------------------------------- writing


def _write(conn: Connection, model: Any, rows: Iterable[Row], progress: Callable[[int], None]) -> None:  # fmt: skip
    """Rows into `model`'s table: COPY on PostgreSQL, executemany batches on SQLite."""
    name = model.__table__.name
    batch: list[Row] = []

    def flush() -> None:
        if not batch:
            return
        if conn.dialect.name == "postgresql":
            columns = list(batch[0])
            cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in batch:
                    copy.write_row([_pg_value(row[c]) for c in columns])
        else:
            conn.execute(insert(model), batch)
        progress(len(batch))
        batch.clear()

    for row in rows:
        batch.append(row)
        if len(batch) >= COPY_BATCH:
            flush()
    flush()


def _pg_value(value: Any) -> Any:
    if isinstance(value, dict):  # JSON columns: COPY's text form
        return orjson.dumps(value).decode()
    return value


def seed_province(
    *,
    db: Database,
    password: str,
    seed: int = 20171018,
    size: ProvinceSize = ZHEJIANG,
    progress: Progress | None = None,
) -> ProvinceReport:
    """Build the province demo (org tree, units, people, the taxonomy) into an empty database."""
    started = time.perf_counter()
    report: Progress = progress or (lambda stage, done, total: None)
    with db.engine.connect() as conn:
        _refuse_non_empty(conn)
    rng = np.random.default_rng(seed)
    report("plan", 0, 3)
    province = plan_province(size, rng)
    nodes = list(_levels(province))
    report("plan", 1, 3)
    units, unit_ids = plan_all_units(province, rng)
    report("plan", 2, 3)
    people, logins = plan_people(size, province, unit_ids, rng, password)
    report("plan", 3, 3)
    tables: list[tuple[str, Any, Any, int]] = [
        ("org units", OrgUnit, org_rows(province), len(nodes)),
        ("units", Unit, units, len(units)),
        ("users", User, people.users, len(people.users)),
        ("roles", UserRole, people.roles, len(people.roles)),
        ("grid workers", GridAssignment, people.assignments, len(people.assignments)),
    ]
    with db.transaction() as session:
        conn = session.connection()
        _refuse_non_empty(conn)
        for stage, model, rows, total in tables:
            done = [0]

            def advance(n: int, stage: str = stage, total: int = total, done: list[int] = done) -> None:  # fmt: skip
                done[0] += n
                report(stage, done[0], total)

            report(stage, 0, total)
            _write(conn, model, rows, advance)
        _finish(conn)
        report("taxonomy", 0, 1)
        import_taxonomy(db=session)  # the shared classes, routing rules and SLA policies
        import_intake(db=session)
        report("taxonomy", 1, 1)
    kinds = [n.kind for n in nodes]
    return ProvinceReport(
        cities=kinds.count("city"),
        districts=kinds.count("district"),
        towns=kinds.count("town"),
        villages=kinds.count("village"),
        grids=kinds.count("grid"),
        units=len(units),
        users=len(people.users),
        grid_workers=len(people.assignments),
        seconds=round(time.perf_counter() - started, 3),
        logins=logins,
    )

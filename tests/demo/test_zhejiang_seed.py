"""The province-sized demo (`fengqiao seed --scale zhejiang`) seeded at a reduced size: the tree
above the district (kinds, GB/T 2260 code prefixes, paths), geometry nested level by level,
units and people per district as the keqiao seed has them, and events routed in their district.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest
import shapely
from sqlalchemy import func, select

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.db import Database
from fengqiao.demo import keqiao as kq
from fengqiao.demo.zhejiang import plan_province, seed_province, tile
from fengqiao.demo.zhejiang_data import CITIES, ZHEJIANG, ProvinceSize
from fengqiao.demo.zhejiang_events import secondary_indexes, seed_province_events
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit, Unit

PASSWORD = "province-test-password"
# 2 cities x 2 districts, a handful of towns, villages and grids.
SMALL = ProvinceSize(cities=2, districts_per_city=2, towns=6, villages=18, grids=50)
UNTIL = datetime(2026, 6, 1, tzinfo=UTC)


def _rows(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(OrgUnit.__table__).order_by(OrgUnit.id)).mappings())


def test_zhejiang_data_is_the_real_province() -> None:
    """11 cities and 90 districts and counties, each code prefixed by its city's and province's."""
    assert len(CITIES) == 11
    assert sum(len(districts) for *_, districts in CITIES) == 90
    codes = [d for *_, districts in CITIES for d, _ in districts]
    assert len(set(codes)) == 90 and ("330603", "柯桥区") in CITIES[5][3]
    for city_code, _, _, districts in CITIES:
        assert city_code.startswith("33") and city_code.endswith("00")
        assert not city_code.endswith("0000")
        assert all(d.startswith(city_code[:4]) and not d.endswith("00") for d, _ in districts)
    assert (ZHEJIANG.towns, ZHEJIANG.villages, ZHEJIANG.grids) == (1360, 20_000, 85_000)


def test_keqiao_keeps_its_sixteen_real_towns_in_the_province() -> None:
    """柯桥区 of the full province plan holds keqiao's 16 towns, names and codes, and the
    province still has 1,360 towns."""
    province = plan_province(ZHEJIANG, np.random.default_rng(20171018))
    districts = [d for city in province.children for d in city.children]
    keqiao = next(d for d in districts if d.code == kq.DISTRICT_CODE)
    assert [t.name for t in keqiao.children] == [t.name for t in kq.TOWNS]
    assert [t.code[-3:] for t in keqiao.children] == [f"{t.sequence:03d}" for t in kq.TOWNS]
    assert sum(len(d.children) for d in districts) == ZHEJIANG.towns


def test_tile_covers_its_box_exactly() -> None:
    box = (118.0, 27.0, 123.2, 31.2)
    cells = [shapely.box(*c) for c in tile(box, [1.0, 2.0, 3.0, 1.5, 1.0, 2.5, 1.0])]
    assert shapely.coverage_is_valid(shapely.GeometryCollection(cells))
    assert shapely.union_all(cells).equals(shapely.box(*box))
    assert cells[1].area == pytest.approx(2 * cells[0].area, rel=0.2)


def test_reduced_province_tree(fresh_db: Database) -> None:
    report = seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    assert (report.cities, report.districts, report.towns, report.villages, report.grids) == (
        2, 4, 6, 18, 50,
    )  # fmt: skip
    rows = _rows(fresh_db)
    by_id = {row["id"]: row for row in rows}
    kinds = Counter(row["kind"] for row in rows)
    assert kinds == {"province": 1, "city": 2, "district": 4, "town": 6, "village": 18, "grid": 50}
    digits = {"province": 6, "city": 6, "district": 6, "town": 9, "village": 12, "grid": 15}
    parent_kind = {"city": "province", "district": "city", "town": "district",
                   "village": "town", "grid": "village"}  # fmt: skip
    for row in rows:
        code, kind = row["code"], row["kind"]
        assert len(code) == digits[kind] and code.isdigit()
        parent = by_id.get(row["parent_id"])
        assert row["path"] == (parent["path"] if parent else "/") + f"{row['id']}/"
        if kind == "province":
            assert parent is None and code == "330000"
            continue
        assert parent is not None and parent["kind"] == parent_kind[kind]
        if kind == "city":
            assert code.endswith("00") and not code.endswith("0000") and code[:2] == "33"
        elif kind == "district":
            assert not code.endswith("00") and code[:4] == parent["code"][:4]
        else:
            assert code.startswith(parent["code"])
        # Every polygon lies inside its parent's box; its own box is the polygon's bounds.
        shape = shapely.from_geojson(json.dumps(row["geometry"]))
        assert shape.is_valid and shape.area > 0
        box = shapely.box(
            parent["min_lng"], parent["min_lat"], parent["max_lng"], parent["max_lat"]
        )
        assert box.buffer(1e-9).contains(shape), row["code"]
        assert shape.bounds == pytest.approx(
            (row["min_lng"], row["min_lat"], row["max_lng"], row["max_lat"])
        )
    # Each level tiles its parent: the children's areas sum to the parent's.
    for row in rows:
        children = [r for r in rows if r["parent_id"] == row["id"]]
        if children:
            area = sum(shapely.from_geojson(json.dumps(c["geometry"])).area for c in children)
            parent_area = shapely.from_geojson(json.dumps(row["geometry"])).area
            assert area == pytest.approx(parent_area, rel=1e-6)
            assert row["households"] == sum(c["households"] for c in children)


def test_reduced_province_units_and_people(fresh_db: Database) -> None:
    report = seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    with fresh_db.engine.connect() as conn:
        orgs = {r.id: r for r in conn.execute(select(OrgUnit.id, OrgUnit.kind, OrgUnit.code, OrgUnit.name))}  # fmt: skip
        units = list(conn.execute(select(Unit.org_unit_id, Unit.category, Unit.name, Unit.code)))
        per_grid = Counter(conn.execute(select(GridAssignment.grid_id)).scalars())
        logins = dict(
            conn.execute(
                select(User.username, OrgUnit.code).join(OrgUnit, OrgUnit.id == User.home_org_id)
            ).all()
        )
        roles = Counter(conn.execute(select(UserRole.role)).scalars())
        users = conn.scalar(select(func.count()).select_from(User))
    agencies = Counter(u.org_unit_id for u in units if u.category == "agency")
    towns = [i for i, o in orgs.items() if o.kind == "town"]
    assert {agencies[t] for t in towns} == {len(kq.AGENCIES)} == {12}
    departments = Counter(u.org_unit_id for u in units if u.category == "district_department")
    districts = [o for o in orgs.values() if o.kind == "district"]
    assert {departments[d.id] for d in districts} == {len(kq.DISTRICT_DEPARTMENTS)}
    for unit in units:  # a district's departments carry its own name
        if unit.category == "district_department":
            district = orgs[unit.org_unit_id]
            assert kq.DISTRICT_NAME not in unit.name or district.name == kq.DISTRICT_NAME
    committees = Counter(u.org_unit_id for u in units if u.category == "village_committee")
    assert {committees[i] for i, o in orgs.items() if o.kind == "village"} == {1}
    assert len({u.code for u in units}) == len(units) == report.units
    grids = [i for i, o in orgs.items() if o.kind == "grid"]
    assert sorted(per_grid) == sorted(grids) and set(per_grid.values()) == {4}
    assert report.grid_workers == 4 * 50 and users == report.users
    assert logins["zj_operator"] == logins["zj_leader"] == "330000"
    assert logins["hz_operator"] == "330100" and logins["nb_leader"] == "330200"
    assert [u for u, _, _ in report.logins] == [
        "zj_operator", "zj_leader", "hz_operator", "hz_leader", "nb_operator", "nb_leader",
    ]  # fmt: skip
    assert roles["admin"] == 1 and roles["resident"] == 1 and roles["device"] == 1


def test_reduced_province_events_route_in_their_district(fresh_db: Database) -> None:
    seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    report = seed_province_events(db=fresh_db, count=1500, until=UNTIL)
    with fresh_db.engine.connect() as conn:
        paths = dict(conn.execute(select(OrgUnit.id, OrgUnit.path)).all())
        unit_org = dict(conn.execute(select(Unit.id, Unit.org_unit_id)).all())
        events = list(
            conn.execute(
                select(Event.code, Event.grid_id, Event.town_id, Event.proposed_unit_id,
                       Event.owner_unit_id, Event.due_at, Event.trail_seq)
            )
        )  # fmt: skip
    assert len(events) == report.events == 1500 and report.trail_rows >= 1500
    assert len({e.code for e in events}) == 1500

    def district_of(org_id: int) -> str:
        return paths[org_id].split("/")[3]  # /province/city/district/...

    routed = 0
    districts_with_events = set()
    for event in events:
        home = district_of(event.grid_id)
        districts_with_events.add(home)
        assert district_of(event.town_id) == home
        for unit in (event.proposed_unit_id, event.owner_unit_id):
            if unit is not None:
                routed += 1
                assert district_of(unit_org[unit]) == home, event.code
    assert routed > 1000
    assert len(districts_with_events) == 4  # spread over every district
    assert sum(1 for e in events if e.due_at is not None) > 1000


def test_province_refuses_a_non_empty_database(fresh_db: Database) -> None:
    seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    with pytest.raises(ValueError, match="empty database"):
        seed_province(db=fresh_db, password=PASSWORD, size=SMALL)


def _shapes(db: Database, indexes: list[tuple[str, str]] | None = None) -> list[tuple[str, str, bool]]:  # fmt: skip
    if db.is_sqlite:
        return []
    found = secondary_indexes(db) if indexes is None else indexes
    return [(name, sql.split(" WHERE ")[0], " WHERE " in sql) for name, sql in found]


def test_province_events_in_parallel_workers(fresh_db: Database) -> None:
    """--jobs 3 on PostgreSQL (SQLite: one process): ids 1…N without a gap, codes unique, each
    code counter left at the number of events of its prefix and day, as the online path counts."""
    seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    indexes = [] if fresh_db.is_sqlite else secondary_indexes(fresh_db)
    assert fresh_db.is_sqlite or len(indexes) > 20
    report = seed_province_events(db=fresh_db, count=2600, until=UNTIL, jobs=3)
    assert report.jobs == (1 if fresh_db.is_sqlite else 3)
    # The non-unique indexes dropped for the load are all back, as they were (a partial index's
    # predicate may come back spelt with its casts moved: the same condition).
    assert _shapes(fresh_db) == _shapes(fresh_db, indexes)
    with fresh_db.engine.connect() as conn:
        events = list(conn.execute(select(Event.id, Event.code, Event.trail_seq)))
        counters: dict[str, int] = dict(
            conn.exec_driver_sql("SELECT prefix || '-' || day, value FROM event_sequence").all()
        )
        trail = conn.exec_driver_sql("SELECT count(*) FROM event_log").scalar_one()
    assert sorted(e.id for e in events) == list(range(1, 2601))
    assert len({e.code for e in events}) == 2600 and trail == report.trail_rows
    assert sum(e.trail_seq for e in events) == trail
    per_key = Counter(e.code.rsplit("-", 1)[0] for e in events)
    assert counters == per_key
    for event in events:  # the numbers of a prefix and day are exactly 1 … its count
        assert 1 <= int(event.code.rsplit("-", 1)[1]) <= per_key[event.code.rsplit("-", 1)[0]]


def test_a_failed_parallel_run_leaves_no_events(fresh_db: Database) -> None:
    """A worker killed mid-run: the run fails and leaves no events, trails or code counters, so
    the same command runs again from the start."""
    import multiprocessing
    import os
    import signal

    seed_province(db=fresh_db, password=PASSWORD, size=SMALL)
    indexes = [] if fresh_db.is_sqlite else secondary_indexes(fresh_db)
    killed: list[int] = []

    def kill_a_worker(stage: str, done: int, total: int) -> None:
        workers = multiprocessing.active_children()
        if stage == "events" and done > 0 and workers and not killed:
            killed.append(workers[0].pid or 0)
            os.kill(workers[0].pid or 0, signal.SIGKILL)
        if fresh_db.is_sqlite and stage == "events" and done > 0:
            raise RuntimeError("stopped mid-run")  # one process: the run itself stops

    with pytest.raises(Exception) as failed:
        seed_province_events(db=fresh_db, count=60_000, until=UNTIL, jobs=2, progress=kill_a_worker)
    assert killed or fresh_db.is_sqlite, failed.value
    assert "stopped mid-run" in str(failed.value) or not fresh_db.is_sqlite, failed.value
    with fresh_db.engine.connect() as conn:
        for table in ("event", "event_log", "event_sequence"):
            assert conn.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one() == 0
    assert _shapes(fresh_db) == _shapes(fresh_db, indexes)
    report = seed_province_events(db=fresh_db, count=500, until=UNTIL, jobs=2)
    assert report.events == 500
    # The trail is append-only again.
    with fresh_db.engine.connect() as conn, pytest.raises(Exception, match="append-only"):
        conn.exec_driver_sql("DELETE FROM event_log")

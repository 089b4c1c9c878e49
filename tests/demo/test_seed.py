"""The demo seed: what it builds at scale `small`, that it is deterministic, and what it refuses."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from argon2 import PasswordHasher
from sqlalchemy import func, select

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.config import get_settings
from fengqiao.db import Database
from fengqiao.demo.seed import demo_accounts, seed
from fengqiao.geo.models import LayerFeature
from fengqiao.migrate import upgrade
from fengqiao.org.models import ChangeCounter, OrgUnit, Unit
from tests.conftest import KEQIAO_GROUP, Keqiao

PASSWORD = "seed-test-password"


def _seed_small(db: Database) -> None:
    seed(db=db, scale="small", password=PASSWORD)


def _org_units(db: Database) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(select(OrgUnit.__table__).order_by(OrgUnit.id)).mappings())


def _shape(row: Any) -> Any:
    return shapely.from_geojson(json.dumps(row["geometry"]))


def test_small_scale_counts(fresh_db: Database) -> None:
    report = seed(db=fresh_db, scale="small", password=PASSWORD)
    assert (report.towns, report.villages, report.grids, report.cameras) == (1, 5, 25, 200)
    assert report.special_grids >= 1 and report.grid_workers == 100
    kinds = Counter(row["kind"] for row in _org_units(fresh_db))
    assert kinds == {"district": 1, "town": 1, "village": 5, "grid": 25}
    with fresh_db.engine.connect() as conn:
        per_grid = Counter(conn.execute(select(GridAssignment.grid_id)).scalars())
        duties = Counter(conn.execute(select(GridAssignment.duty)).scalars())
        codes = list(
            conn.execute(select(LayerFeature.code).where(LayerFeature.kind == "camera")).scalars()
        )
        pois = conn.scalar(select(func.count()).where(LayerFeature.kind != "camera"))
        counter = conn.scalar(select(ChangeCounter.value).where(ChangeCounter.name == "grids"))
    assert len(per_grid) == 25 and set(per_grid.values()) == {4}
    assert duties == {"leader": 25, "full_time": 25, "part_time": 25, "instructor": 25}
    assert len(codes) == 200 and len(set(codes)) == 200
    assert all(c is not None and len(c) == 20 and c.isdigit() for c in codes)
    assert pois == report.pois and 40 <= pois <= 60
    assert counter == 1


def test_codes_paths_and_households(fresh_db: Database) -> None:
    _seed_small(fresh_db)
    rows = _org_units(fresh_db)
    by_id = {row["id"]: row for row in rows}
    settings = get_settings()
    caps = {"urban": settings.household_cap_urban, "rural": settings.household_cap_rural}
    for row in rows:
        parent = by_id.get(row["parent_id"])
        expected_path = (parent["path"] if parent else "/") + f"{row['id']}/"
        assert row["path"] == expected_path
        assert None not in (row["min_lng"], row["min_lat"], row["max_lng"], row["max_lat"])
        if row["kind"] == "grid":
            assert parent is not None and parent["kind"] == "village"
            assert len(row["code"]) == 15 and row["code"].isdigit()
            assert row["code"].startswith(parent["code"])
            assert 30 <= row["households"] <= caps[row["area_type"]]
        elif parent is not None:
            children = [r for r in rows if r["parent_id"] == row["id"]]
            assert row["households"] == sum(c["households"] for c in children)


def test_grids_tile_the_town_without_overlap(fresh_db: Database) -> None:
    _seed_small(fresh_db)
    rows = _org_units(fresh_db)
    town = _shape(next(r for r in rows if r["kind"] == "town"))
    grids = np.asarray([_shape(r) for r in rows if r["kind"] == "grid"])
    assert shapely.is_valid(grids).all()
    for i in range(len(grids)):
        for j in range(i + 1, len(grids)):
            assert shapely.intersection(grids[i], grids[j]).area < 1e-12
    assert shapely.symmetric_difference(shapely.union_all(grids), town).area < 1e-12


def test_features_lie_in_their_grid(fresh_db: Database) -> None:
    _seed_small(fresh_db)
    grids = {r["id"]: _shape(r) for r in _org_units(fresh_db) if r["kind"] == "grid"}
    with fresh_db.engine.connect() as conn:
        features = list(conn.execute(select(LayerFeature.__table__)).mappings())
    assert {f["kind"] for f in features} >= {"camera", "hospital", "school", "enterprise"}
    for feature in features:
        assert shapely.contains_xy(grids[feature["grid_id"]], feature["lng"], feature["lat"])


def test_same_seed_same_district(fresh_db: Database, tmp_path: Path) -> None:
    _seed_small(fresh_db)
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    upgrade(other_url)
    other = Database(other_url)
    try:
        _seed_small(other)
        first = [(r["code"], r["name"], r["geometry"]) for r in _org_units(fresh_db)]
        second = [(r["code"], r["name"], r["geometry"]) for r in _org_units(other)]
    finally:
        other.dispose()
    assert first == second


def test_refuses_a_non_empty_database_and_unknown_scales(fresh_db: Database) -> None:
    with pytest.raises(ValueError, match="scale"):
        seed(db=fresh_db, scale="huge", password=PASSWORD)
    _seed_small(fresh_db)
    with pytest.raises(ValueError, match="empty"):
        _seed_small(fresh_db)
    assert Counter(r["kind"] for r in _org_units(fresh_db))["grid"] == 25


def test_demo_accounts_have_their_roles_and_the_password(fresh_db: Database) -> None:
    _seed_small(fresh_db)
    hasher = PasswordHasher()
    with fresh_db.session() as session:
        for username, role, description in demo_accounts():
            user = session.scalar(select(User).where(User.username == username))
            assert user is not None, username
            assert user.roles == [role] and user.is_demo and description
            assert user.password_hash is not None and hasher.verify(user.password_hash, PASSWORD)
        worker = session.scalar(select(User).where(User.username == "demo_grid_worker"))
        handler = session.scalar(select(User).where(User.username == "demo_handler"))
        assert worker is not None and handler is not None
        duty = session.scalar(
            select(GridAssignment.duty).where(GridAssignment.user_id == worker.id)
        )
        unit = session.get(Unit, handler.unit_id)
        grid = session.get(OrgUnit, worker.home_org_id)
        town = session.get(OrgUnit, unit.org_unit_id) if unit else None
        handlers = session.scalar(select(func.count()).where(UserRole.role == "handler"))
        villages = session.scalar(select(func.count()).where(OrgUnit.kind == "village"))
    assert duty == "full_time"
    assert unit is not None and unit.name == "柯桥街道综合行政执法中队"
    assert grid is not None and town is not None and grid.path.startswith(town.path)
    assert grid.kind == "grid" and town.name == "柯桥街道"
    # 4 per agency, 1 per town office, coordination group, district department and village
    # committee.
    assert villages and handlers == 12 * 4 + 5 + 4 + 12 + villages


@KEQIAO_GROUP
def test_keqiao_scale_matches_the_district(keqiao: Keqiao) -> None:
    """The figures the issue names for `--scale keqiao`, counted from the stored rows."""
    from fengqiao.demo.keqiao import AGENCIES, DISTRICT_BBOX, TOWNS

    fresh_db, report = keqiao.database, keqiao.report
    rows = _org_units(fresh_db)
    kinds = Counter(row["kind"] for row in rows)
    assert kinds["district"] == 1 and kinds["town"] == 16 and kinds["grid"] == 1700
    assert 320 <= kinds["village"] <= 360 and report.villages == kinds["village"]
    assert {row["name"] for row in rows if row["kind"] == "town"} == {t.name for t in TOWNS}
    caps = {"urban": 300, "rural": 150}
    grids = [row for row in rows if row["kind"] == "grid"]
    assert all(row["households"] <= caps[row["area_type"]] for row in grids)
    assert {row["grid_type"] for row in grids} >= {"residential", "market", "enterprise", "school"}
    min_lng, min_lat, max_lng, max_lat = DISTRICT_BBOX
    assert (
        min(r["min_lng"] for r in grids) >= min_lng and max(r["max_lng"] for r in grids) <= max_lng
    )
    assert (
        min(r["min_lat"] for r in grids) >= min_lat and max(r["max_lat"] for r in grids) <= max_lat
    )
    with fresh_db.engine.connect() as conn:
        workers = conn.scalar(select(func.count(func.distinct(GridAssignment.user_id))))
        per_grid = Counter(conn.execute(select(GridAssignment.grid_id)).scalars())
        agencies = Counter(
            conn.execute(select(Unit.org_unit_id).where(Unit.category == "agency")).scalars()
        )
        agency_staff = conn.scalar(
            select(func.count())
            .select_from(User)
            .join(Unit, Unit.id == User.unit_id)
            .where(Unit.category == "agency")
        )
        cameras = list(
            conn.execute(select(LayerFeature.code).where(LayerFeature.kind == "camera")).scalars()
        )
        roles = set(conn.execute(select(UserRole.role).distinct()).scalars())
        # Routing may send an event to any unit, so every unit has someone to sign it.
        unstaffed = conn.scalar(
            select(func.count())
            .select_from(Unit)
            .where(~select(User.id).where(User.unit_id == Unit.id).exists())
        )
        headless = conn.scalar(
            select(func.count())
            .select_from(Unit)
            .where(
                ~select(User.id)
                .join(UserRole, UserRole.user_id == User.id)
                .where(User.unit_id == Unit.id, UserRole.role == "unit_leader")
                .exists()
            )
        )
    assert unstaffed == 0 and headless == 0  # and a head to tell when its events run overdue
    assert workers == 6800 and len(per_grid) == 1700 and set(per_grid.values()) == {4}
    assert len(agencies) == 16 and set(agencies.values()) == {len(AGENCIES)} == {12}
    assert agency_staff == 864 == report.agency_staff
    assert len(cameras) == 30000 and len(set(cameras)) == 30000
    assert all(c is not None and len(c) == 20 and c.isdigit() for c in cameras)
    assert roles >= {"grid_worker", "grid_leader", "operator", "handler", "leader", "admin"}

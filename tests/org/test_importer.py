"""Importing and exporting the org tree: all or nothing, with a report of every bad feature."""

from __future__ import annotations

import copy
import math
from typing import Any

import pytest
from sqlalchemy import func, select

from fengqiao.config import Settings
from fengqiao.crs import wgs84_to_gcj02
from fengqiao.db import Database
from fengqiao.org.importer import ImportRejected, export_tree, import_tree
from fengqiao.org.models import OrgUnit
from tests.org.factories import DISTRICT, TOWN, VILLAGE, feature, rect, tree

SETTINGS = Settings(database_url="sqlite://", secret_key="x")


def count(database: Database) -> int:
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(OrgUnit)) or 0


def do_import(database: Database, data: Any, **kwargs: Any) -> Any:
    with database.transaction() as session:
        return import_tree(
            db=session, data=data, settings=kwargs.pop("settings", SETTINGS), **kwargs
        )


def rejection(database: Database, data: Any, **kwargs: Any) -> ImportRejected:
    with pytest.raises(ImportRejected) as info:
        do_import(database, data, **kwargs)
    assert count(database) == 0 or kwargs.get("expect_rows")
    return info.value


def test_import_builds_tree_with_paths(fresh_db: Database) -> None:
    report = do_import(fresh_db, tree(3, 2))
    assert report.created == 9 and report.by_kind == {
        "district": 1,
        "town": 1,
        "village": 1,
        "grid": 6,
    }
    with fresh_db.session() as session:
        units = {u.code: u for u in session.scalars(select(OrgUnit))}
    grid = units[f"{VILLAGE}001"]
    chain = [units[DISTRICT].id, units[TOWN].id, units[VILLAGE].id, grid.id]
    assert grid.path == "/" + "/".join(map(str, chain)) + "/"
    assert grid.parent_id == units[VILLAGE].id
    assert grid.min_lng == pytest.approx(120.40) and grid.max_lat == pytest.approx(30.10)
    assert grid.grid_type == "residential"


def test_export_round_trips(fresh_db: Database, tmp_path: Any, request: Any) -> None:
    do_import(fresh_db, tree(2, 2))
    with fresh_db.session() as session:
        exported = export_tree(db=session)
    other = Database(f"sqlite:///{tmp_path / 'other.db'}")
    from fengqiao.migrate import upgrade

    upgrade(other.url)
    do_import(other, copy.deepcopy(exported))
    with other.session() as session:
        again = export_tree(db=session)
    assert again == exported
    assert [f["properties"]["kind"] for f in exported["features"]][:3] == [
        "district",
        "town",
        "village",
    ]


def test_reimport_updates_in_place(fresh_db: Database) -> None:
    do_import(fresh_db, tree(2, 1))
    changed = tree(2, 1, households=120)
    report = do_import(fresh_db, changed)
    assert (report.created, report.updated) == (0, 5)
    with fresh_db.session() as session:
        assert (
            session.scalar(select(OrgUnit.households).where(OrgUnit.code == f"{VILLAGE}002")) == 120
        )
    assert count(fresh_db) == 5


def test_one_bad_feature_among_thousands_imports_nothing(fresh_db: Database) -> None:
    data = tree(40, 25)  # 1,000 grids
    bowtie = {
        "type": "Polygon",
        "coordinates": [
            [[120.40, 30.0], [120.41, 30.01], [120.41, 30.0], [120.40, 30.01], [120.40, 30.0]]
        ],
    }
    data["features"][500]["geometry"] = bowtie
    problem = rejection(fresh_db, data)
    assert len(problem.errors) >= 1
    assert problem.errors[0].field.startswith("features[500]")
    assert "Self-intersection" in problem.errors[0].reason
    assert "自相交" in problem.errors[0].reason_zh
    assert count(fresh_db) == 0


@pytest.mark.parametrize(
    ("mutate", "reason", "reason_zh"),
    [
        (lambda f: f["properties"].update(code="33060300100100A"), "bad code", "编码"),
        (lambda f: f["properties"].update(code="3306030010010011"), "bad code", "编码"),
        (lambda f: f["properties"].update(code="330603001001000"), "000", "编码"),
        (lambda f: f["properties"].update(households=151), "cap of 150", "上限"),
        (lambda f: f["properties"].update(households=-1), "whole number", "非负整数"),
        (lambda f: f["properties"].update(name=""), "name", "名称"),
        (lambda f: f["properties"].update(grid_type="castle"), "grid_type", "grid_type"),
        (
            lambda f: f.update(geometry={"type": "Point", "coordinates": [120.4, 30.0]}),
            "Polygon",
            "面",
        ),
        (lambda f: f.update(geometry=None), "Polygon", "面"),
        (lambda f: f.update(geometry=rect(30.0, 120.40, 30.05, 120.45)), "swapped", "颠倒"),
        (lambda f: f.update(geometry=rect(math.nan, 30.0, 120.45, 30.05)), "finite", "有限"),
        (lambda f: f.update(geometry=rect(120.40, 30.0, 120.46, 30.05)), "overlaps", "重叠"),
        (
            lambda f: f.update(geometry=rect(120.39, 30.0, 120.45, 30.05)),
            "outside its parent",
            "超出",
        ),
        (lambda f: f["properties"].update(code="330603002001001"), "orphan", "孤立"),
        (lambda f: f["properties"].update(kind="village"), "does not match", "不符"),
    ],
)
def test_each_bad_feature_is_named(
    fresh_db: Database, mutate: Any, reason: str, reason_zh: str
) -> None:
    data = tree(2, 2)
    mutate(data["features"][3])  # the first grid
    problem = rejection(fresh_db, data)
    assert any(reason in e.reason and reason_zh in e.reason_zh for e in problem.errors), (
        problem.errors
    )
    assert problem.status == 422 and problem.slug == "org-import-rejected"


def test_duplicate_code_in_file(fresh_db: Database) -> None:
    data = tree(2, 1)
    data["features"].append(copy.deepcopy(data["features"][3]))
    problem = rejection(fresh_db, data)
    assert any("duplicate code" in e.reason for e in problem.errors)


def test_overlap_with_stored_grid_is_refused_and_keeps_stored(fresh_db: Database) -> None:
    do_import(fresh_db, tree(2, 1))
    intruder = feature(f"{VILLAGE}003", "新网格", rect(120.44, 30.02, 120.46, 30.04), households=50)
    with pytest.raises(ImportRejected) as info:
        do_import(fresh_db, {"type": "FeatureCollection", "features": [intruder]})
    assert any("overlaps grid" in e.reason for e in info.value.errors)
    assert count(fresh_db) == 5


@pytest.mark.parametrize(
    "data",
    [
        None,
        [],
        {"type": "Feature"},
        {"type": "FeatureCollection"},
        {"type": "FeatureCollection", "features": []},
    ],
)
def test_malformed_geojson(fresh_db: Database, data: Any) -> None:
    problem = rejection(fresh_db, data)
    assert problem.errors[0].field == "features[-1]"


def test_unknown_crs(fresh_db: Database) -> None:
    problem = rejection(fresh_db, tree(1, 1), crs="mars2000")
    assert "unknown CRS" in problem.errors[0].reason
    data = tree(1, 1) | {"crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}
    assert "unknown CRS" in rejection(fresh_db, data).errors[0].reason


def test_household_caps_are_configurable(fresh_db: Database) -> None:
    strict = Settings(database_url="sqlite://", secret_key="x", household_cap_rural=90)
    problem = rejection(fresh_db, tree(2, 1, households=100), settings=strict)
    assert any("cap of 90" in e.reason for e in problem.errors)
    urban = tree(2, 1, households=280, area_type="urban")
    assert do_import(fresh_db, urban).created == 5


def test_gcj02_file_is_converted_once(fresh_db: Database) -> None:
    data = tree(1, 1)
    for f in data["features"]:
        ring = f["geometry"]["coordinates"][0]
        f["geometry"]["coordinates"][0] = [list(map(float, wgs84_to_gcj02(x, y))) for x, y in ring]
    do_import(fresh_db, data, crs="gcj02")
    with fresh_db.session() as session:
        grid = session.scalar(select(OrgUnit).where(OrgUnit.code == f"{VILLAGE}001"))
    assert grid is not None
    assert grid.min_lng == pytest.approx(120.40, abs=1e-6)
    assert grid.min_lat == pytest.approx(30.00, abs=1e-6)

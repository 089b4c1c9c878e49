"""The tree above the district: provinces and cities imported with the same all-or-nothing checks."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.org.importer import ImportRejected, export_tree, import_tree
from fengqiao.org.models import OrgUnit
from tests.org.factories import feature, rect, tree

SETTINGS = Settings(database_url="sqlite://", secret_key="x")
PROVINCE = rect(118.0, 27.0, 123.0, 31.5)
CITY = rect(120.0, 29.5, 121.0, 30.5)


def do_import(database: Database, data: Any) -> Any:
    with database.transaction() as session:
        return import_tree(db=session, data=data, settings=SETTINGS)


def collection(*features: dict[str, Any]) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": list(features)}


def above() -> list[dict[str, Any]]:
    return [
        feature("330000", "浙江省", PROVINCE),
        feature("330600", "绍兴市", CITY),
        feature("330100", "杭州市", rect(119.0, 29.5, 120.0, 30.5)),
    ]


def units(database: Database) -> dict[str, OrgUnit]:
    with database.session() as session:
        return {u.code: u for u in session.scalars(select(OrgUnit))}


def problems(database: Database, data: Any) -> list[tuple[str, str]]:
    with pytest.raises(ImportRejected) as info:
        do_import(database, data)
    return [(e.field, e.reason) for e in info.value.errors]


def test_province_city_district_paths(fresh_db: Database) -> None:
    keqiao = tree(2, 1)["features"]
    report = do_import(fresh_db, collection(*above(), *keqiao))
    assert report.by_kind["province"] == 1 and report.by_kind["city"] == 2
    found = units(fresh_db)
    province, city, district = found["330000"], found["330600"], found["330603"]
    assert province.path == f"/{province.id}/" and province.kind == "province"
    assert city.path == f"/{province.id}/{city.id}/" and city.parent_id == province.id
    assert district.path == f"/{province.id}/{city.id}/{district.id}/"
    grid = found["330603001001001"]
    assert grid.path.startswith(district.path)
    with fresh_db.session() as session:
        exported = export_tree(db=session)
    kinds = [f["properties"]["kind"] for f in exported["features"]]
    assert kinds[:4] == ["province", "city", "city", "district"]
    assert exported["features"][3]["properties"]["parent"] == "330600"


def test_second_district_of_another_city_goes_under_it(fresh_db: Database) -> None:
    do_import(fresh_db, collection(*above()))
    do_import(fresh_db, collection(feature("330106", "西湖区", rect(119.9, 30.1, 120.0, 30.3))))
    found = units(fresh_db)
    assert found["330106"].parent_id == found["330100"].id
    assert found["330106"].path == f"{found['330100'].path}{found['330106'].id}/"


def test_district_only_deployment_keeps_district_as_root(fresh_db: Database) -> None:
    do_import(fresh_db, tree(2, 1))
    district = units(fresh_db)["330603"]
    assert district.parent_id is None and district.path == f"/{district.id}/"
    with fresh_db.session() as session:
        exported = export_tree(db=session)
    assert "parent" not in exported["features"][0]["properties"]


def test_city_that_does_not_prefix_its_district_is_refused(fresh_db: Database) -> None:
    # The file names city 330100 (杭州) as the parent of 330603 (柯桥, in 绍兴 330600).
    district = feature("330603", "柯桥区", rect(120.4, 30.0, 120.5, 30.1), parent="330100")
    found = problems(fresh_db, collection(*above(), district))
    assert found and found[0][0] == "features[3] (330603)"
    assert "parent" in found[0][1] and "330600" in found[0][1]
    assert units(fresh_db) == {}


def test_district_without_its_city_in_a_province_tree_is_refused(fresh_db: Database) -> None:
    stray = feature("330703", "金东区", rect(119.6, 29.0, 119.8, 29.2))
    found = problems(fresh_db, collection(*above(), stray))
    assert found == [
        (
            "features[3] (330703)",
            "code: district 330703 lies in city 330700, which is neither in the file nor "
            "stored; a district's code must start with its city's 4 digits",
        )
    ]


def test_city_without_province_and_wrong_suffix(fresh_db: Database) -> None:
    found = problems(
        fresh_db,
        collection(
            feature("320500", "苏州市", None),
            feature("330600", "绍兴市", CITY, kind="district"),
        ),
    )
    assert found[0][0] == "features[0] (320500)" and "orphan" in found[0][1]
    assert found[1][0] == "features[1] (330600)" and "kind 'district'" in found[1][1]


def test_district_imported_twice_in_a_file(fresh_db: Database) -> None:
    twice = feature("330603", "柯桥区", rect(120.4, 30.0, 120.5, 30.1))
    found = problems(fresh_db, collection(*above(), twice, twice))
    assert found == [
        ("features[4] (330603)", "duplicate code: district 330603 imported twice, also feature 3")
    ]


def test_province_above_a_stored_district_reroots_its_subtree(fresh_db: Database) -> None:
    do_import(fresh_db, tree(2, 1))
    before = units(fresh_db)
    report = do_import(fresh_db, collection(*above()))
    assert report.rerooted == ["330603"]
    after = units(fresh_db)
    province, city, district = after["330000"], after["330600"], after["330603"]
    assert district.parent_id == city.id and district.id == before["330603"].id
    prefix = f"/{province.id}/{city.id}/"
    for code, unit in before.items():
        assert after[code].path == prefix + unit.path.lstrip("/"), code
    # A second import of the same file changes nothing more.
    assert do_import(fresh_db, collection(*above())).rerooted == []


def test_province_without_a_stored_district_s_city_is_refused(fresh_db: Database) -> None:
    do_import(fresh_db, tree(2, 1))
    found = problems(fresh_db, collection(feature("330000", "浙江省", PROVINCE)))
    assert ("features[-1] (330603)", "code: stored district 330603 would be left without its "
            "city 330600: import its city with the province") in found  # fmt: skip
    assert "330000" not in units(fresh_db)


def test_reroot_rewrites_every_path_column(fresh_db: Database) -> None:
    from fengqiao.org.reroot import path_columns, reroot

    names = {f"{t.name}.{c}" for t, c in path_columns()}
    assert {"org_unit.path", "warning.org_path", "tracked_task.org_path"} <= names
    assert {"patrol.home_path", "checklist_run.grid_path", "notice.org_path"} <= names
    do_import(fresh_db, tree(2, 1))
    with fresh_db.transaction() as session:
        changed = reroot(db=session, old_prefix="/1/", new_prefix="/7/8/1/")
    assert changed["org_unit.path"] == 5
    assert {u.path[:7] for u in units(fresh_db).values()} == {"/7/8/1/"}
    with pytest.raises(ValueError), fresh_db.transaction() as session:
        reroot(db=session, old_prefix="1", new_prefix="/2/")


def test_district_stored_under_another_parent_is_refused(fresh_db: Database) -> None:
    do_import(fresh_db, collection(*above()))
    do_import(fresh_db, collection(feature("330603", "柯桥区", rect(120.4, 30.0, 120.5, 30.1))))
    # Someone moved it by hand (or a seed put it elsewhere): the importer does not re-parent it.
    with fresh_db.transaction() as session:
        hangzhou = session.scalar(select(OrgUnit).where(OrgUnit.code == "330100"))
        district = session.scalar(select(OrgUnit).where(OrgUnit.code == "330603"))
        assert hangzhou is not None and district is not None
        district.parent_id = hangzhou.id
    again = feature("330603", "柯桥区", rect(120.4, 30.0, 120.5, 30.1))
    found = problems(fresh_db, collection(again))
    assert found == [
        ("features[0] (330603)", "code: district 330603 is already imported under 330100")
    ]


def test_reimporting_a_district_in_its_city_updates_in_place(fresh_db: Database) -> None:
    do_import(fresh_db, collection(*above(), *tree(2, 1)["features"]))
    first = units(fresh_db)["330603"]
    report = do_import(fresh_db, collection(feature("330603", "柯桥区（新）", None)))
    assert report.updated == 1
    assert units(fresh_db)["330603"].path == first.path

"""The org tree API: summary, tree, units, edits with caps, import/export, grids GeoJSON."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit
from tests.auth.test_auth_api import assert_problem

Auth = Callable[[str], dict[str, str]]


def first_grid(db: Session) -> OrgUnit:
    grid = db.scalar(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code))
    assert grid is not None
    return grid


def test_summary_counts_the_small_district(client: TestClient, auth: Auth) -> None:
    summary = client.get("/api/v1/org/summary", headers=auth("admin")).json()
    assert summary["towns"] == 1 and summary["villages"] == 5 and summary["grids"] == 25
    assert summary["grid_workers"] == 100 and summary["special_grids"] >= 1
    assert summary["units"] > 12 and summary["users"] > 100


def test_summary_of_a_grid_worker_is_their_grid(client: TestClient, auth: Auth) -> None:
    summary = client.get("/api/v1/org/summary", headers=auth("demo_grid_worker")).json()
    assert summary["towns"] == 0 and summary["villages"] == 0 and summary["grids"] == 1
    assert summary["grid_workers"] == 4
    units = client.get("/api/v1/units", headers=auth("demo_grid_worker")).json()["total"]
    assert summary["units"] == units > 12  # their town's agencies, offices, committee, district


def test_tree_depths(client: TestClient, auth: Auth) -> None:
    tree = client.get("/api/v1/org/tree", params={"depth": 3}, headers=auth("admin")).json()
    assert tree["kind"] == "district" and len(tree["children"]) == 1
    villages = tree["children"][0]["children"]
    assert len(villages) == 5 and sum(len(v["children"]) for v in villages) == 25
    shallow = client.get("/api/v1/org/tree", params={"depth": 0}, headers=auth("admin")).json()
    assert shallow["children"] == []
    mine = client.get("/api/v1/org/tree", headers=auth("demo_operator")).json()
    assert mine["kind"] == "town"


def test_unit_detail_and_scope(client: TestClient, auth: Auth, db: Session) -> None:
    grid = first_grid(db)
    detail = client.get(f"/api/v1/org/units/{grid.code}", headers=auth("admin")).json()
    assert [a["kind"] for a in detail["ancestors"]] == ["district", "town", "village"]
    assert detail["geometry"]["type"] in ("Polygon", "MultiPolygon") and len(detail["bbox"]) == 4
    body = assert_problem(
        client.get("/api/v1/org/units/330603", headers=auth("demo_operator")), 403, "forbidden"
    )
    assert "管辖范围" in str(body["detail_zh"])
    assert_problem(
        client.get("/api/v1/org/units/999999999", headers=auth("admin")), 404, "not-found"
    )
    assert_problem(
        client.get("/api/v1/org/units/12ab", headers=auth("admin")), 422, "invalid-input"
    )


def test_edit_enforces_the_household_cap_and_keeps_the_old_value(
    client: TestClient, auth: Auth, db: Session
) -> None:
    grid = first_grid(db)
    households_before = grid.households
    cap = 300 if grid.area_type == "urban" or _area(db, grid) == "urban" else 150
    response = client.patch(
        f"/api/v1/org/units/{grid.code}", json={"households": cap + 1}, headers=auth("admin")
    )
    body = assert_problem(response, 422, "org-import-rejected")
    assert "cap" in str(body["detail"])
    db.expire_all()
    stored = db.get(OrgUnit, grid.id)
    assert stored is not None and stored.households == households_before
    ok = client.patch(
        f"/api/v1/org/units/{grid.code}",
        json={"households": cap, "name": "改名网格"},
        headers=auth("admin"),
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["households"] == cap and ok.json()["name"] == "改名网格"
    assert_problem(
        client.patch(
            f"/api/v1/org/units/{grid.code}", json={"households": 1}, headers=auth("demo_operator")
        ),
        403,
        "forbidden",
    )


def _area(db: Session, grid: OrgUnit) -> str | None:
    ids = [int(p) for p in grid.path.strip("/").split("/")]
    for unit_id in reversed(ids):
        unit = db.get(OrgUnit, unit_id)
        if unit is not None and unit.area_type:
            return unit.area_type
    return None


def test_edit_geometry_overlapping_a_neighbour_is_refused(
    client: TestClient, auth: Auth, db: Session
) -> None:
    grid = first_grid(db)
    village = db.get(OrgUnit, grid.parent_id)
    assert village is not None and village.geometry is not None
    response = client.patch(
        f"/api/v1/org/units/{grid.code}", json={"geometry": village.geometry}, headers=auth("admin")
    )
    body = assert_problem(response, 422, "org-import-rejected")
    assert any("overlaps" in e["reason"] for e in body["errors"])


def test_export_then_import_through_the_api(client: TestClient, auth: Auth) -> None:
    exported = client.get("/api/v1/org/export", headers=auth("admin")).json()
    assert len(exported["features"]) == 1 + 1 + 5 + 25
    grid = next(f for f in exported["features"] if f["properties"]["kind"] == "grid")
    grid["properties"]["population"] = 12345
    report = client.post(
        "/api/v1/org/import",
        json={"type": "FeatureCollection", "features": [grid]},
        headers=auth("admin"),
    )
    assert report.status_code == 200, report.text
    assert report.json() == {"created": 0, "updated": 1, "by_kind": {"grid": 1}, "rerooted": []}
    detail = client.get(f"/api/v1/org/units/{grid['id']}", headers=auth("admin")).json()
    assert detail["population"] == 12345
    assert_problem(
        client.post("/api/v1/org/import", json={"type": "nope"}, headers=auth("admin")),
        422,
        "org-import-rejected",
    )
    assert_problem(
        client.post("/api/v1/org/import", json=exported, headers=auth("demo_operator")),
        403,
        "forbidden",
    )


def test_units_are_those_serving_the_callers_area(client: TestClient, auth: Auth) -> None:
    admin = client.get("/api/v1/units", params={"size": 500}, headers=auth("admin")).json()
    worker = client.get(
        "/api/v1/units", params={"size": 500}, headers=auth("demo_grid_worker")
    ).json()
    agencies = [u for u in worker["items"] if u["category"] == "agency"]
    assert len(agencies) == 12 and {u["org"]["kind"] for u in agencies} == {"town"}
    assert any(u["category"] == "district_department" for u in worker["items"])
    assert worker["total"] < admin["total"]  # other villages' committees are not theirs
    police = client.get(
        "/api/v1/units", params={"unit_type": "police_station"}, headers=auth("admin")
    ).json()
    assert police["total"] == 1 and police["items"][0]["platform"] == "governance"
    assert_problem(
        client.get("/api/v1/units", params={"platform": "space"}, headers=auth("admin")),
        422,
        "invalid-input",
    )


def test_grids_geojson_gzip_etag_and_scope(client: TestClient, auth: Auth, db: Session) -> None:
    town = db.scalar(select(OrgUnit.code).where(OrgUnit.kind == "town"))
    response = client.get(
        "/api/v1/grids/geojson",
        params={"town": town},
        headers=auth("admin") | {"Accept-Encoding": "gzip"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    assert response.headers["content-encoding"] == "gzip"
    data: dict[str, Any] = response.json()  # httpx undoes the gzip
    assert len(data["features"]) == 25
    etag = response.headers["etag"]
    again = client.get(
        "/api/v1/grids/geojson",
        params={"town": town},
        headers=auth("admin") | {"If-None-Match": etag},
    )
    assert again.status_code == 304
    plain = client.get(
        "/api/v1/grids/geojson", headers=auth("demo_grid_worker") | {"Accept-Encoding": "identity"}
    )
    assert "content-encoding" not in plain.headers and len(plain.json()["features"]) == 1
    assert_problem(
        client.get("/api/v1/grids/geojson", params={"town": "330603999"}, headers=auth("admin")),
        422,
        "invalid-input",
    )


def test_grids_geojson_changes_after_an_edit(client: TestClient, auth: Auth, db: Session) -> None:
    grid = first_grid(db)
    before = client.get("/api/v1/grids/geojson", headers=auth("admin"))
    client.patch(
        f"/api/v1/org/units/{grid.code}", json={"name": "新名字"}, headers=auth("admin")
    ).raise_for_status()
    after = client.get("/api/v1/grids/geojson", headers=auth("admin"))
    assert after.headers["etag"] != before.headers["etag"]
    names = {f["properties"]["code"]: f["properties"]["name"] for f in after.json()["features"]}
    assert names[grid.code] == "新名字"

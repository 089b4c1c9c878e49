"""The one-map's point layers (POIs, cameras, IoT devices) by kind and scope, and the cameras
nearest to a point (geo/views.py; tested here with the other one-map layers)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from tests.patrol.conftest import People, haversine


def layer(api: TestClient, auth: Any, username: str, kind: str, **params: Any) -> Any:
    return api.get(f"/api/v1/layers/{kind}", params=params, headers=auth(username))


def features_under(db: Session, kind: str, path: str) -> set[int]:
    return set(
        db.scalars(
            select(LayerFeature.id)
            .join(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
            .where(LayerFeature.kind == kind, OrgUnit.path.startswith(path))
        )
    )


def test_a_layer_holds_its_kind_in_the_callers_area(
    api: TestClient, auth: Any, db: Session, people: People
) -> None:
    response = layer(
        api,
        auth,
        "demo_operator",
        "camera",
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/geo+json"
    features = response.json()["features"]
    town_path = people.grid.path.rsplit("/", 3)[0] + "/"
    assert {f["id"] for f in features} == features_under(db, "camera", town_path)
    sample = features[0]
    assert sample["geometry"]["type"] == "Point"
    assert set(sample["properties"]) == {"id", "kind", "name", "code", "props"}
    assert sample["properties"]["kind"] == "camera" and len(sample["properties"]["code"]) == 20
    # A grid worker's map holds only their own grid's cameras.
    mine = layer(api, auth, "demo_grid_worker", "camera").json()["features"]
    assert {f["id"] for f in mine} == features_under(db, "camera", people.grid.path)
    assert len(mine) < len(features)


def test_a_layer_narrows_to_an_org_unit_or_a_box(
    api: TestClient, auth: Any, db: Session, people: People
) -> None:
    village = db.get(OrgUnit, people.grid.parent_id)
    assert village is not None
    by_village = layer(api, auth, "demo_operator", "enterprise", org=village.code).json()
    assert {f["id"] for f in by_village["features"]} == features_under(
        db, "enterprise", village.path
    )
    grid = people.grid
    box = f"{grid.min_lng},{grid.min_lat},{grid.max_lng},{grid.max_lat}"
    boxed = layer(api, auth, "demo_operator", "camera", bbox=box).json()["features"]
    assert boxed and all(
        grid.min_lng <= f["geometry"]["coordinates"][0] <= grid.max_lng
        and grid.min_lat <= f["geometry"]["coordinates"][1] <= grid.max_lat
        for f in boxed
    )
    assert layer(api, auth, "demo_operator", "camera", bbox="1,2,3").status_code == 422


def test_iot_devices_are_a_layer(api: TestClient, auth: Any) -> None:
    devices = layer(api, auth, "demo_district_operator", "iot_device").json()["features"]
    kinds = {f["properties"]["props"]["device_type"] for f in devices}
    assert kinds == {"water_quality", "smoke_detector"}
    assert all(f["properties"]["props"]["status"] == "online" for f in devices)
    assert all(f["properties"]["code"].startswith("IOT-") for f in devices)


def test_layers_refuse_unknown_kinds_other_areas_and_non_staff(
    api: TestClient, auth: Any, people: People
) -> None:
    unknown = layer(api, auth, "demo_operator", "volcano")
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert "camera" in unknown.json()["detail"]
    assert (
        layer(api, auth, "demo_grid_worker", "camera", org=people.other_grid.code).status_code
        == 403
    )
    assert layer(api, auth, "demo_resident", "camera").status_code == 403


def test_nearest_cameras(api: TestClient, auth: Any, db: Session, people: People) -> None:
    lat, lng = people.inside()
    response = api.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "limit": 3},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 200, response.text
    rows = response.json()
    cameras = list(db.scalars(select(LayerFeature).where(LayerFeature.kind == "camera")))
    truth = sorted(cameras, key=lambda c: haversine(lat, lng, c.lat, c.lng))[:3]
    assert [r["id"] for r in rows] == [c.id for c in truth]
    for row, camera in zip(rows, truth, strict=True):
        assert row["distance_m"] == pytest.approx(
            haversine(lat, lng, camera.lat, camera.lng), abs=0.2
        )
        assert row["code"] == camera.code and len(row["code"]) == 20
        assert row["stream_url"] == (camera.props or {})["stream_url"]
        assert row["name"] == camera.name
    assert [r["distance_m"] for r in rows] == sorted(r["distance_m"] for r in rows)
    refused = api.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng},
        headers=auth("demo_resident"),
    )
    assert refused.status_code == 403

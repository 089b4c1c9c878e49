"""The phone's reverse lookup (GET /api/v1/search/reverse) and the places' CSV import, on both
backends; and the demo's landmarks, found by name."""

# ruff: noqa: F811  (the fixtures are imported from tests.events.conftest by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.basemap.models import BaseFeature
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from fengqiao.search.reverse import LANDMARK_KINDS
from tests.events.conftest import World, api, clock, world  # noqa: F401  (fixtures)

Auth = Any


def reverse(
    api: TestClient, auth: Auth, lat: float, lng: float, user: str = "demo_grid_worker"
) -> Any:
    return api.get("/api/v1/search/reverse", params={"lat": lat, "lng": lng}, headers=auth(user))


def test_reverse_names_the_grid_and_the_nearest_place(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    school = db.scalars(select(LayerFeature).where(LayerFeature.name == "柯桥中学")).one()
    grid = db.get(OrgUnit, school.grid_id)
    assert grid is not None
    village = db.get(OrgUnit, grid.parent_id)
    assert village is not None
    response = reverse(api, auth, school.lat + 0.0002, school.lng)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["text"].startswith(f"柯桥街道 {village.name} ")
    assert body["near"]["name"] in body["text"] and body["near"]["distance_m"] <= 1000
    # A landmark right there wins, before the roads: a point 22 m from the school names it.
    assert body["near"] == {"kind": "place", "name": "柯桥中学", "distance_m": 22.0}
    assert body["grid_id"] == school.grid_id


def test_beside_a_road_the_road_is_named(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    """Away from any landmark, the nearest named road of the base map (柯桥街道 … · 近 笛扬路)."""
    db.execute(delete(LayerFeature).where(LayerFeature.kind.in_(LANDMARK_KINDS)))
    db.flush()
    roads = db.scalars(select(BaseFeature).where(BaseFeature.kind == "road")).all()
    names = {road.name for road in roads}
    assert roads, "the demo seed draws local roads"
    # 30 m north of the middle of a road's first segment, inside the district.
    for road in roads:
        line = road.geometry["coordinates"]
        line = line[0] if road.geometry["type"] == "MultiLineString" else line
        (lng_a, lat_a), (lng_b, lat_b) = line[0], line[1]
        response = reverse(api, auth, (lat_a + lat_b) / 2 + 0.00027, (lng_a + lng_b) / 2)
        if response.status_code == 200:
            break
    body = response.json()
    assert body["near"]["kind"] == "road" and body["near"]["name"] in names
    assert body["near"]["distance_m"] <= 31 and body["text"].endswith(
        f" · 近 {body['near']['name']}"
    )


def test_reverse_falls_back_to_an_event_address(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    lat, lng = world.grid_point
    db.execute(delete(LayerFeature).where(LayerFeature.kind.in_(LANDMARK_KINDS)))
    db.execute(delete(BaseFeature))  # no local roads either
    db.flush()
    assert reverse(api, auth, lat, lng).json()["near"] is None
    body = {
        "source": "hotline", "category": world.other_category, "description": "井盖缺失",
        "lat": lat + 0.0001, "lng": lng, "address": "笛扬路东段", "contact_phone": "13700000000",
    }  # fmt: skip
    assert api.post("/api/v1/events", json=body, headers=auth("demo_operator")).status_code == 201
    answer = reverse(api, auth, lat, lng).json()
    assert answer["near"]["kind"] == "address" and answer["text"].endswith(" · 近 笛扬路东段")
    # A caller who may not read the event does not learn its address.
    # (A resident places a 随手拍 with it: the words of the place, never someone else's event.)
    resident = reverse(api, auth, lat, lng, user="demo_resident")
    assert resident.status_code == 200 and "笛扬路东段" not in resident.text


def test_reverse_refuses_bad_points(api: TestClient, auth: Auth) -> None:
    outside = reverse(api, auth, 39.9, 116.4)
    assert outside.status_code == 422 and "detail_zh" in outside.json()
    nan = api.get(
        "/api/v1/search/reverse",
        params={"lat": "nan", "lng": "120.5"},
        headers=auth("demo_operator"),
    )
    assert nan.status_code == 422


def test_demo_landmarks_are_found_by_name_and_address(api: TestClient, auth: Auth) -> None:
    for q, name in (
        ("中医医院", "柯桥区中医医院"),
        ("柯桥中学", "柯桥中学"),
        ("轻纺城", "中国轻纺城"),
    ):
        response = api.get("/api/v1/search", params={"q": q}, headers=auth("demo_operator"))
        places = next(g for g in response.json()["groups"] if g["kind"] == "place")
        assert places["items"][0]["name"] == name
    response = api.get("/api/v1/search", params={"q": "金柯桥大道"}, headers=auth("demo_operator"))
    places = next(g for g in response.json()["groups"] if g["kind"] == "place")
    assert (
        places["items"][0]["name"] == "中国轻纺城"
        and places["items"][0]["detail"] == "柯桥街道金柯桥大道"
    )


def test_places_import(api: TestClient, auth: Auth, db: Session, world: World) -> None:
    lat, lng = world.grid_point
    text = (
        "类别,名称,地址,经度,纬度\n"
        f"hospital,柯桥区第二人民医院,柯桥街道华宇路,{lng},{lat}\n"
        f"学校,柯桥小学,柯桥街道湖西路,{lng},{lat}\n"
        f"planet,火星,,{lng},{lat}\n"
        f"school,北京学校,,116.4,39.9\n"
        f"school,,,{lng},{lat}\n"
        f"school,柯桥中学,柯桥街道湖西路二号,{lng},{lat}\n"
        f"school,坏\x00名字,,{lng},{lat}\n"
    )
    headers = {**auth("admin"), "content-type": "text/csv"}
    dry = api.post(
        "/api/v1/places/import", params={"dry_run": True}, content=text.encode(), headers=headers
    )
    assert dry.status_code == 200, dry.text
    assert db.scalar(select(LayerFeature.id).where(LayerFeature.name == "柯桥小学")) is None
    response = api.post("/api/v1/places/import", content=text.encode(), headers=headers)
    body = response.json()
    assert (body["rows"], body["created"], body["updated"], body["refused"]) == (7, 2, 1, 4)
    assert [(e["row"], e["field"]) for e in body["errors"]] == [
        (4, "kind"),
        (5, "lat,lng"),
        (6, "name"),
        (8, "name"),
    ]
    assert all(e["reason_zh"] for e in body["errors"])
    worker_grid = db.scalar(select(User.home_org_id).where(User.username == "demo_grid_worker"))
    school = db.scalars(select(LayerFeature).where(LayerFeature.name == "柯桥小学")).one()
    assert school.kind == "school" and school.grid_id == worker_grid
    found = api.get("/api/v1/search", params={"q": "华宇路"}, headers=auth("demo_operator")).json()
    assert [i["name"] for g in found["groups"] for i in g["items"]] == ["柯桥区第二人民医院"]
    moved = db.scalars(select(LayerFeature).where(LayerFeature.name == "柯桥中学")).one()
    assert (moved.props or {})["address"] == "柯桥街道湖西路二号"
    refused = api.post(
        "/api/v1/places/import",
        content=text.encode(),
        headers={**auth("demo_operator"), "content-type": "text/csv"},
    )
    assert refused.status_code == 403
    empty = api.post("/api/v1/places/import", content=b"", headers=headers)
    assert empty.status_code == 422

"""The one search box (GET /api/v1/search) on both backends: each kind, scope, bounds, ranking,
and an index that follows the rows it searches."""

# ruff: noqa: F811  (the fixtures are imported from tests.events.conftest by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit, Unit
from tests.events.conftest import World, api, clock, world  # noqa: F401  (fixtures)

Auth = Any


def found(
    api: TestClient, auth: Auth, q: str, user: str = "demo_operator", **params: Any
) -> dict[str, Any]:
    response = api.get("/api/v1/search", params={"q": q, **params}, headers=auth(user))
    assert response.status_code == 200, response.text
    return dict(response.json())


def names(body: dict[str, Any], kind: str) -> list[str]:
    for group in body["groups"]:
        if group["kind"] == kind:
            return [item["name"] for item in group["items"]]
    return []


def file(
    api: TestClient, auth: Auth, world: World, point: tuple[float, float], address: str
) -> dict[str, Any]:
    body = {
        "source": "hotline", "category": world.other_category, "description": "路面破损",
        "lat": point[0], "lng": point[1], "address": address, "contact_phone": "13700000000",
    }  # fmt: skip
    response = api.post("/api/v1/events", json=body, headers=auth("demo_operator"))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_areas_by_name_and_by_code(api: TestClient, auth: Auth, db: Session) -> None:
    village = db.scalars(
        select(OrgUnit).where(OrgUnit.kind == "village").order_by(OrgUnit.code)
    ).first()
    assert village is not None
    body = found(api, auth, village.name)
    assert body["mode"] in ("fts", "trgm")
    first = body["groups"][0]
    assert first["kind"] == "area" and first["label"] == "区域"
    assert first["items"][0]["name"] == village.name  # the exact name ranks first
    assert first["items"][0]["sub"] == "village" and first["items"][0]["sub_label"] == "村社"
    assert first["items"][0]["detail"] == "柯桥街道"
    assert first["items"][0]["bbox"] is not None
    grid = db.scalars(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code)).first()
    assert grid is not None
    by_code = found(api, auth, grid.code)
    assert names(by_code, "area")[0] == grid.name


def test_one_character_is_a_prefix_match_on_names(api: TestClient, auth: Auth) -> None:
    body = found(api, auth, "柯")
    assert body["mode"] == "prefix"
    assert names(body, "area")[0] == "柯桥街道"  # the town, whose name starts with it
    assert all(name.startswith("柯") for name in names(body, "area"))
    assert all(name.startswith("柯") for name in names(body, "unit"))
    two = found(api, auth, "柯桥", kind="area")
    assert two["mode"] == "prefix" and names(two, "area") == ["柯桥街道"]


def test_places_and_units(api: TestClient, auth: Auth, db: Session) -> None:
    school = db.scalars(select(LayerFeature).where(LayerFeature.kind == "school")).first()
    assert school is not None
    body = found(api, auth, school.name, user="demo_grid_worker")
    group = next(g for g in body["groups"] if g["kind"] == "place")
    assert group["items"][0]["name"] == school.name and group["items"][0]["sub"] == "school"
    assert group["items"][0]["lat"] == school.lat
    unit = db.scalars(select(Unit).where(Unit.name.like("%综合行政执法%"))).first()
    assert unit is not None
    units = names(found(api, auth, "综合行政执法"), "unit")
    assert unit.name in units and len(units) <= 5


def test_cameras_only_in_scope(api: TestClient, auth: Auth, db: Session) -> None:
    worker_grid = db.scalar(select(User.home_org_id).where(User.username == "demo_grid_worker"))
    mine = db.scalars(
        select(LayerFeature).where(
            LayerFeature.kind == "camera", LayerFeature.grid_id == worker_grid
        )
    ).first()
    other = db.scalars(
        select(LayerFeature).where(
            LayerFeature.kind == "camera", LayerFeature.grid_id != worker_grid
        )
    ).first()
    assert mine is not None and other is not None and other.code is not None
    assert names(found(api, auth, other.code), "camera") == [other.name]  # by its GB/T 28181 id
    assert names(found(api, auth, other.code, user="demo_grid_worker"), "camera") == []
    assert other.name in names(found(api, auth, other.name), "camera")
    assert other.name not in names(found(api, auth, other.name, user="demo_grid_worker"), "camera")
    assert mine.name in names(found(api, auth, mine.name, user="demo_grid_worker"), "camera")
    # A prefix every camera's id shares: cameras, five of them; no place has an id to match.
    shared = found(api, auth, other.code[:10])
    assert len(names(shared, "camera")) == 5 and names(shared, "place") == []


def test_events_by_code_and_address_in_scope(api: TestClient, auth: Auth, world: World) -> None:
    theirs = file(api, auth, world, world.other_grid_point, "笛扬路一百二十号")
    mine = file(api, auth, world, world.grid_point, "笛扬路八号")
    # By address, newest first; the operator of the town sees both.
    assert names(found(api, auth, "笛扬路"), "event") == [mine["code"], theirs["code"]]
    # The grid worker sees only the event of their grid.
    assert names(found(api, auth, "笛扬路", user="demo_grid_worker"), "event") == [mine["code"]]
    # By code, whole or a prefix (lower case too); a code match ranks before address matches.
    assert names(found(api, auth, theirs["code"]), "event") == [theirs["code"]]
    assert names(found(api, auth, theirs["code"].lower()), "event") == [theirs["code"]]
    prefix = theirs["code"][:2]
    assert theirs["code"] in names(found(api, auth, prefix), "event")
    detail = next(g for g in found(api, auth, "一百二十")["groups"] if g["kind"] == "event")
    assert detail["items"][0]["detail"].endswith("笛扬路一百二十号")


def test_index_follows_changes(api: TestClient, auth: Auth, db: Session, world: World) -> None:
    place = db.scalars(select(LayerFeature).where(LayerFeature.kind == "hospital")).first()
    assert place is not None
    old = place.name
    db.execute(
        update(LayerFeature).where(LayerFeature.id == place.id).values(name="钱清镇新建中心医院")
    )
    db.flush()
    assert names(found(api, auth, "新建中心医院"), "place") == ["钱清镇新建中心医院"]
    assert old not in names(found(api, auth, old), "place")
    event = file(api, auth, world, world.grid_point, "湖西路二号")
    from fengqiao.events.models import Event

    db.execute(update(Event).where(Event.id == event["id"]).values(address="湖东路九号"))
    db.flush()
    assert names(found(api, auth, "湖东路"), "event") == [event["code"]]
    assert names(found(api, auth, "湖西路"), "event") == []
    db.execute(update(OrgUnit).where(OrgUnit.name == "柯桥街道").values(name="柯桥新街道"))
    db.flush()
    assert names(found(api, auth, "柯桥新街道"), "area") == ["柯桥新街道"]


def test_bounds_and_who_may_search(api: TestClient, auth: Auth) -> None:
    for q in ("", "   ", "路" * 65):
        response = api.get("/api/v1/search", params={"q": q}, headers=auth("demo_operator"))
        assert response.status_code == 422, response.text
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["errors"][0]["field"] == "q" and body["detail_zh"].startswith("关键词")
    assert found(api, auth, "路" * 64)["q"] == "路" * 64
    nul = api.get("/api/v1/search", params={"q": "柯桥\x00街道"}, headers=auth("demo_operator"))
    assert nul.status_code == 422 and nul.json()["errors"][0]["reason_zh"] == "不能包含控制字符"
    response = api.get("/api/v1/search", headers=auth("demo_operator"))
    assert response.status_code == 422
    response = api.get(
        "/api/v1/search", params={"q": "柯桥", "kind": "planet"}, headers=auth("demo_operator")
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "kind"
    response = api.get(
        "/api/v1/search", params={"q": "柯桥", "limit": 11}, headers=auth("demo_operator")
    )
    assert response.status_code == 422
    response = api.get("/api/v1/search", params={"q": "柯桥"}, headers=auth("demo_resident"))
    assert response.status_code == 403
    # Characters that mean something to FTS5 or LIKE are only text.
    for q in ('"', "%", "_", "a AND b", "NEAR(", "*", '柯桥"街道', "\\"):
        body = found(api, auth, q)
        assert all(len(g["items"]) <= 5 for g in body["groups"])

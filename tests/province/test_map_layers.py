"""The one-map of a city and a province (geo/areas.py, command area-stats, map_levels.js's API):
outlines one level down made from the grids when no geometry is stored, grids and events of a
box only, counts per area instead of every point; and the public map's box over every district.
Two districts under a city and a province (tests/province/world.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import Point, shape
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, bump_counter
from fengqiao.publicmap.service import town_outlines
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"


def geojson(api: TestClient, auth: Auth, user: str, url: str, **params: Any) -> dict[str, Any]:
    response = api.get(url, params=params, headers=auth(user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/geo+json"
    return dict(json.loads(response.content))


def box_around(lat: float, lng: float, half: float = 0.004) -> str:
    return f"{lng - half},{lat - half},{lng + half},{lat + half}"


def test_province_map_shows_its_city_as_the_union_of_its_districts(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    body = geojson(api, auth, "zj_leader", "/api/v1/map/areas")
    assert body["kind"] == "city"
    assert [f["properties"]["name"] for f in body["features"]] == ["绍兴市"]
    city = body["features"][0]
    assert city["properties"]["id"] == world.city
    outline = shape(city["geometry"])
    # No geometry was imported for the city: its outline is its grids', both districts'.
    for lat, lng in world.points.values():
        assert outline.buffer(0.005).contains(Point(lng, lat))
    west, south, east, north = city["bbox"]
    low, high = db.execute(
        select(func.min(OrgUnit.min_lng), func.max(OrgUnit.max_lng)).where(OrgUnit.kind == "grid")
    ).one()
    assert west <= low and east >= high
    assert south < north
    districts = geojson(api, auth, "zj_leader", "/api/v1/map/areas", kind="district")
    assert {f["properties"]["code"] for f in districts["features"]} == {KQ, YC}


def test_city_map_shows_its_districts_and_a_district_only_its_own(
    api: TestClient, auth: Auth, world: World
) -> None:
    body = geojson(api, auth, "sx_operator", "/api/v1/map/areas")
    assert body["kind"] == "district"
    by_code = {f["properties"]["code"]: f for f in body["features"]}
    assert set(by_code) == {KQ, YC}
    yc = shape(by_code[YC]["geometry"])
    lat, lng = world.points[YC]
    assert yc.contains(Point(lng, lat)) and not yc.contains(Point(*reversed(world.points[KQ])))
    # 越城区's one grid is a 0.02° square: the union of it is that square.
    assert yc.area == pytest.approx(0.0004, rel=0.01)
    own = geojson(api, auth, "yc_operator", "/api/v1/map/areas", kind="district")
    assert [f["properties"]["code"] for f in own["features"]] == [YC]
    towns = geojson(api, auth, "yc_operator", "/api/v1/map/areas")
    assert towns["kind"] == "town"
    assert [f["properties"]["name"] for f in towns["features"]] == ["府山街道"]
    cities = geojson(api, auth, "yc_operator", "/api/v1/map/areas", kind="city")
    assert cities["features"] == []  # the city is above a district's home: nothing of it
    refused = api.get("/api/v1/map/areas", params={"org": KQ}, headers=auth("yc_operator"))
    assert refused.status_code == 403


def test_outlines_refuse_bad_input_and_answer_304(
    api: TestClient, auth: Auth, world: World
) -> None:
    for params, field in (({"kind": "village"}, "kind"), ({"kind": "x" * 17}, "kind"),
                          ({"org": "999999"}, "org"), ({"org": "330602001"}, "kind")):  # fmt: skip
        response = api.get("/api/v1/map/areas", params=params, headers=auth("sx_operator"))
        assert response.status_code == 422, (params, response.text)
        problem = response.json()
        assert problem["errors"][0]["field"].endswith(field), problem
        assert problem["errors"][0]["reason_zh"], problem
    first = api.get("/api/v1/map/areas", headers=auth("sx_operator"))
    again = api.get(
        "/api/v1/map/areas",
        headers={**auth("sx_operator"), "If-None-Match": first.headers["etag"]},
    )
    assert again.status_code == 304
    resident = api.get("/api/v1/map/areas", headers=auth("demo_resident"))
    assert resident.status_code == 403


def test_grids_of_a_box_only_and_bounded(api: TestClient, auth: Auth, world: World) -> None:
    lat, lng = world.points[YC]
    body = geojson(api, auth, "zj_leader", "/api/v1/grids/geojson", bbox=box_around(lat, lng))
    assert [f["properties"]["code"] for f in body["features"]] == ["330602001001001"]
    lat, lng = world.points[KQ]
    kq = geojson(api, auth, "sx_operator", "/api/v1/grids/geojson", bbox=box_around(lat, lng))
    assert kq["features"] and all(f["properties"]["code"].startswith(KQ) for f in kq["features"])
    # The district's operator asking for the other district's box gets none of its grids.
    lat, lng = world.points[YC]
    other = geojson(api, auth, "kq_operator", "/api/v1/grids/geojson", bbox=box_around(lat, lng))
    assert other["features"] == []
    everything = "-180,-90,180,90"
    many = api.get("/api/v1/grids/geojson", params={"bbox": everything, "limit": 1},
                   headers=auth("zj_leader"))  # fmt: skip
    assert many.status_code == 422
    assert many.json()["errors"][0]["field"] == "bbox"
    assert "放大" in many.json()["errors"][0]["reason_zh"]
    for bad in ("1,2,3", "a,b,c,d", "121,30,120,31", "120,31,121,30", "120,nan,121,31"):
        response = api.get("/api/v1/grids/geojson", params={"bbox": bad}, headers=auth("zj_leader"))
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["field"] == "bbox"


def test_area_counts_instead_of_points(api: TestClient, auth: Auth, world: World) -> None:
    def counts(user: str, kind: str) -> dict[str, dict[str, int]]:
        response = api.get("/api/v1/command/area-stats", params={"kind": kind},
                           headers=auth(user))  # fmt: skip
        assert response.status_code == 200, response.text
        assert response.json()["kind"] == kind
        return dict(response.json()["areas"])

    province = counts("zj_leader", "city")
    assert province == {str(world.city): {"open": 2, "red": 0, "yellow": 0, "recent": 2}}
    city = counts("sx_operator", "district")
    kq, yc = str(world.districts[KQ]), str(world.districts[YC])
    assert city[kq]["open"] == 1 and city[yc]["open"] == 1 and set(city) == {kq, yc}
    assert counts("yc_operator", "district") == {yc: city[yc]}
    towns = counts("yc_operator", "town")
    assert towns == {str(world.towns[YC]): city[yc]}
    refused = api.get("/api/v1/command/area-stats", params={"kind": "grid"},
                      headers=auth("zj_leader"))  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "kind"


def test_events_and_grid_counts_of_a_box(api: TestClient, auth: Auth, world: World) -> None:
    lat, lng = world.points[YC]
    box = box_around(lat, lng)
    body = geojson(api, auth, "zj_leader", "/api/v1/command/events.geojson", bbox=box)
    assert [f["properties"]["id"] for f in body["features"]] == [world.events[YC]["id"]]
    assert body["truncated"] is False
    whole = geojson(api, auth, "zj_leader", "/api/v1/command/events.geojson")
    assert {f["properties"]["id"] for f in whole["features"]} == {
        world.events[KQ]["id"],
        world.events[YC]["id"],
    }
    stats = api.get("/api/v1/command/grid-stats", params={"bbox": box}, headers=auth("sx_leader"))
    assert stats.status_code == 200, stats.text
    assert list(stats.json()["grids"].values()) == [{"open": 1, "red": 0, "yellow": 0,
                                                     "recent": 1}]  # fmt: skip
    # The other district's operator: nothing of 越城区 in its box.
    none = geojson(api, auth, "kq_operator", "/api/v1/command/events.geojson", bbox=box)
    assert none["features"] == []
    bad = api.get("/api/v1/command/events.geojson", params={"bbox": "1,2"},
                  headers=auth("zj_leader"))  # fmt: skip
    assert bad.status_code == 422


def test_public_map_box_covers_every_district(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    meta = api.get("/api/v1/public/reports/meta")
    assert meta.status_code == 200, meta.text
    west, south, east, north = meta.json()["bounds"]
    for lat, lng in world.points.values():
        assert west <= lng <= east and south <= lat <= north, (lat, lng, meta.json()["bounds"])
    grids = shapely.union_all(
        [shape(g) for g in db.scalars(select(OrgUnit.geometry).where(OrgUnit.kind == "grid"))]
    )
    assert (west, south, east, north) == pytest.approx(grids.bounds)


def test_public_map_ground_is_the_districts_when_towns_are_many(db: Session, world: World) -> None:
    towns = town_outlines(db)
    # 府山街道 was imported without geometry: its outline is its grid's.
    assert {f["properties"]["name"] for f in towns["features"]} >= {"府山街道"}
    # Past `max_towns` towns (300 by default; a province has 1,360): the districts' outlines.
    districts = town_outlines(db, max_towns=1)
    assert sorted(f["properties"]["name"] for f in districts["features"]) == ["柯桥区", "越城区"]
    lat, lng = world.points[YC]
    yc = next(f for f in districts["features"] if f["properties"]["name"] == "越城区")
    assert shape(yc["geometry"]).contains(Point(lng, lat))


def test_an_outline_is_the_union_of_the_next_level_down(
    db: Session, api: TestClient, auth: Auth, world: World
) -> None:
    """越城区 given a stored outline wider than its grid: the city (none stored) is the union of
    its districts' outlines, so it covers the district's whole stored shape, not only grids."""
    lat, lng = world.points[YC]
    wide = {"type": "Polygon", "coordinates": [[[lng - 0.05, lat - 0.05], [lng + 0.05, lat - 0.05],
            [lng + 0.05, lat + 0.05], [lng - 0.05, lat + 0.05], [lng - 0.05, lat - 0.05]]]}  # fmt: skip
    db.execute(update(OrgUnit).where(OrgUnit.code == YC).values(geometry=wide))
    bump_counter(db=db, name=GRIDS_COUNTER)
    db.commit()
    body = geojson(api, auth, "zj_leader", "/api/v1/map/areas")
    city = shape(body["features"][0]["geometry"])
    outside_grid = Point(lng + 0.04, lat + 0.04)  # in the stored district, in no grid
    assert city.contains(outside_grid)
    # Its town (none stored) is still its grid's union: the stored district shape is not in it.
    towns = geojson(api, auth, "zj_leader", "/api/v1/map/areas", kind="town")["features"]
    fushan = next(f for f in towns if f["properties"]["name"] == "府山街道")
    assert shape(fushan["geometry"]).contains(Point(lng, lat))
    assert not shape(fushan["geometry"]).contains(outside_grid)

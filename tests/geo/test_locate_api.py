"""GET /api/v1/grids/locate: a point to its grid, village and town, or a clear refusal."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import shapely
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.crs import gcj02_to_bd09, wgs84_to_gcj02
from fengqiao.org.models import OrgUnit
from tests.auth.test_auth_api import assert_problem

Auth = Callable[[str], dict[str, str]]


def inner_point(db: Session, index: int = 0) -> tuple[OrgUnit, float, float]:
    grids = db.scalars(select(OrgUnit).where(OrgUnit.kind == "grid").order_by(OrgUnit.code)).all()
    grid = grids[index]
    assert grid.geometry is not None
    point = shapely.get_coordinates(shape(grid.geometry).point_on_surface())[0]
    return grid, float(point[0]), float(point[1])


def test_locate_inside(client: TestClient, auth: Auth, db: Session) -> None:
    grid, lng, lat = inner_point(db, 7)
    response = client.get(
        "/api/v1/grids/locate", params={"lat": lat, "lng": lng}, headers=auth("demo_device")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["grid"]["code"] == grid.code
    assert body["village"]["code"] == grid.code[:12] and body["town"]["code"] == grid.code[:9]
    assert body["grid"]["name"] == grid.name and body["crs"] == "wgs84"


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "GCJ02", "cgcs2000"])
def test_locate_converts_phone_coordinates(
    client: TestClient, auth: Auth, db: Session, crs: str
) -> None:
    grid, lng, lat = inner_point(db, 3)
    x, y = lng, lat
    if crs.lower() in ("gcj02", "bd09"):
        x, y = map(float, wgs84_to_gcj02(lng, lat))
    if crs.lower() == "bd09":
        x, y = map(float, gcj02_to_bd09(x, y))
    body = client.get(
        "/api/v1/grids/locate",
        params={"lat": y, "lng": x, "crs": crs},
        headers=auth("demo_grid_worker"),
    ).json()
    assert body["grid"]["code"] == grid.code
    assert body["lng"] == pytest.approx(lng, abs=1e-6) and body["lat"] == pytest.approx(
        lat, abs=1e-6
    )


def test_unconverted_gcj02_lands_hundreds_of_metres_away(db: Session) -> None:
    _, lng, lat = inner_point(db)
    x, y = wgs84_to_gcj02(lng, lat)
    metres = ((float(x) - lng) * 96_000) ** 2 + ((float(y) - lat) * 111_000) ** 2
    assert 200 < metres**0.5 < 1000


def test_point_outside_the_district(client: TestClient, auth: Auth) -> None:
    body = assert_problem(
        client.get(
            "/api/v1/grids/locate", params={"lat": 39.9, "lng": 116.4}, headers=auth("admin")
        ),
        422,
        "outside-district",
    )
    assert "不在本辖区" in str(body["detail_zh"])


def test_swapped_coordinates_are_named(client: TestClient, auth: Auth, db: Session) -> None:
    _, lng, lat = inner_point(db)
    body = assert_problem(
        client.get("/api/v1/grids/locate", params={"lat": lng, "lng": lat}, headers=auth("admin")),
        422,
        "invalid-input",
    )
    assert body["errors"][0]["field"] == "lat"
    assert "swapped" in body["errors"][0]["reason"] and "颠倒" in body["errors"][0]["reason_zh"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"lat": "nan", "lng": "120.5"}, "lat"),
        ({"lat": "30.1", "lng": "inf"}, "lng"),
        ({"lat": "30.1", "lng": "east"}, "lng"),
        ({"lat": "-91", "lng": "120.5"}, "lat"),
        ({"lng": "120.5"}, "lat"),
        ({"lat": "30.1", "lng": "120.5", "crs": "epsg3857"}, "crs"),
    ],
)
def test_bad_input_names_the_field(
    client: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    body = assert_problem(
        client.get("/api/v1/grids/locate", params=params, headers=auth("admin")),
        422,
        "invalid-input",
    )
    assert field in [e["field"] for e in body["errors"]]
    assert all(e["reason_zh"] for e in body["errors"])


def test_index_follows_a_grid_edit(client: TestClient, auth: Auth, db: Session) -> None:
    grid, lng, lat = inner_point(db, 0)
    headers = auth("admin")
    assert (
        client.get("/api/v1/grids/locate", params={"lat": lat, "lng": lng}, headers=headers).json()[
            "grid"
        ]["name"]
        == grid.name
    )
    client.patch(
        f"/api/v1/org/units/{grid.code}", json={"name": "重新命名"}, headers=headers
    ).raise_for_status()
    body = client.get(
        "/api/v1/grids/locate", params={"lat": lat, "lng": lng}, headers=headers
    ).json()
    assert body["grid"]["name"] == "重新命名"

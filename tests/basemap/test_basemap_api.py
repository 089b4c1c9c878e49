"""The base map setting over the API, on both backends: administrators set it and read it back
with the Tianditu key masked, bad templates are refused in Chinese with nothing stored, only
administrators write, the map's layer list follows, the CSP's img-src follows at once, and the
local vector base is served for the caller's area only."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.auth.test_auth_api import assert_problem
from tests.web.test_headers import policy

Auth = Callable[[str], dict[str, str]]
KEY = "0123456789abcdef0123456789abcdef"
XYZ = "https://{s}.tiles.example.org:8443/{z}/{x}/{y}.png"


def put(client: TestClient, auth: Auth, body: dict[str, object], user: str = "admin") -> object:
    return client.put("/api/v1/basemap", json=body, headers=auth(user))


def test_tianditu_is_stored_and_its_key_never_shown_whole(client: TestClient, auth: Auth) -> None:
    before = client.get("/api/v1/basemap", headers=auth("admin")).json()
    assert before["provider"] == "local" and before["source"] == "default"
    response = client.put(
        "/api/v1/basemap", json={"provider": "tianditu", "api_key": KEY}, headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    assert KEY not in response.text
    saved = client.get("/api/v1/basemap", headers=auth("admin"))
    assert KEY not in saved.text
    body = saved.json()
    assert body["has_key"] and body["key_hint"] == "••••cdef" and body["source"] == "stored"
    assert body["attribution"] == "天地图"
    # Saving again without the key keeps it.
    again = client.put(
        "/api/v1/basemap", json={"provider": "tianditu", "max_zoom": 17}, headers=auth("admin")
    )
    assert again.json()["has_key"] and again.json()["max_zoom"] == 17
    layers = client.get("/api/v1/basemap/layers", headers=auth("demo_operator")).json()
    assert [b["name"] for b in layers["bases"]] == ["天地图矢量", "天地图影像"]
    vector, imagery = layers["bases"]
    assert [t["url"].split("/")[3] for t in vector["tiles"]] == ["vec_w", "cva_w"]
    assert [t["url"].split("/")[3] for t in imagery["tiles"]] == ["img_w", "cia_w"]
    assert all(f"tk={KEY}" in t["url"] and "TILEMATRIXSET=w" in t["url"] for t in vector["tiles"])
    assert layers["default"] == "tianditu-vec" and vector["max_zoom"] == 17


@pytest.mark.parametrize(
    ("template", "words"),
    [
        ("not a url", "http"),
        ("https://tiles.example.org/{z}/{x}.png", "{y}"),
        ("ftp://tiles.example.org/{z}/{x}/{y}.png", "http"),
        ("https://tiles.example.org/{z}/{x}/{y}.png?k=<script>", "尖括号"),
        ("https://tiles.example.org/{zoom}/{x}/{y}.png", "占位符"),
    ],
)
def test_a_url_that_is_not_a_template_is_refused_in_chinese(
    client: TestClient, auth: Auth, template: str, words: str
) -> None:
    response = client.put(
        "/api/v1/basemap", json={"provider": "xyz", "url_template": template}, headers=auth("admin")
    )
    body = assert_problem(response, 422, "invalid-input")
    [error] = body["errors"]
    assert error["field"] == "url_template" and words in error["reason_zh"]
    assert client.get("/api/v1/basemap", headers=auth("admin")).json()["source"] == "default"


def test_bad_fields_are_reported_together_and_bounded(client: TestClient, auth: Auth) -> None:
    missing = client.put("/api/v1/basemap", json={"provider": "tianditu"}, headers=auth("admin"))
    assert assert_problem(missing, 422, "invalid-input")["errors"][0]["field"] == "api_key"
    short = client.put(
        "/api/v1/basemap", json={"provider": "tianditu", "api_key": "abc"}, headers=auth("admin")
    )
    assert "16" in assert_problem(short, 422, "invalid-input")["errors"][0]["reason_zh"]
    long = client.put(
        "/api/v1/basemap",
        json={"provider": "xyz", "url_template": "https://a.example/{z}/{x}/{y}" + "x" * 600},
        headers=auth("admin"),
    )
    assert_problem(long, 422, "invalid-input")
    unknown = client.put("/api/v1/basemap", json={"provider": "baidu"}, headers=auth("admin"))
    assert_problem(unknown, 422, "invalid-input")
    zoom = client.put(
        "/api/v1/basemap", json={"provider": "local", "max_zoom": 99}, headers=auth("admin")
    )
    assert_problem(zoom, 422, "invalid-input")
    assert client.get("/api/v1/basemap", headers=auth("admin")).json()["source"] == "default"


@pytest.mark.parametrize("user", ["demo_operator", "demo_district_leader", "demo_grid_worker"])
def test_only_administrators_read_and_write_the_setting(
    client: TestClient, auth: Auth, user: str
) -> None:
    assert_problem(client.get("/api/v1/basemap", headers=auth(user)), 403, "forbidden")
    refused = client.put(
        "/api/v1/basemap", json={"provider": "xyz", "url_template": XYZ}, headers=auth(user)
    )
    assert_problem(refused, 403, "forbidden")
    assert client.get("/api/v1/basemap/layers", headers=auth(user)).json()["bases"] == []


def test_devices_get_no_base_and_residents_do(client: TestClient, auth: Auth) -> None:
    for path in ("/api/v1/basemap/layers", "/api/v1/basemap/features"):
        assert_problem(client.get(path, headers=auth("demo_device")), 403, "forbidden")
        # Residents place their 随手拍 on the base (issue 19): the same shared geography.
        assert client.get(path, headers=auth("demo_resident")).status_code == 200


def test_the_csp_img_src_follows_the_stored_setting(client: TestClient, auth: Auth) -> None:
    assert policy(client.get("/login"))["img-src"] == ["'self'", "data:", "blob:"]
    response = client.put(
        "/api/v1/basemap", json={"provider": "xyz", "url_template": XYZ}, headers=auth("admin")
    )
    assert response.status_code == 200, response.text
    assert policy(client.get("/login"))["img-src"][3:] == ["https://*.tiles.example.org:8443"]
    layers = client.get("/api/v1/basemap/layers", headers=auth("demo_operator")).json()
    assert layers["bases"][0]["tiles"] == [{"url": XYZ, "subdomains": "abc"}]
    assert layers["bases"][0]["crs"] == "wgs84"
    amap = "https://webrd0{s}.is.autonavi.com/appmaptile?style=8&x={x}&y={y}&z={z}"
    put_amap = client.put(
        "/api/v1/basemap",
        json={"provider": "gcj02", "url_template": amap, "subdomains": "1234"},
        headers=auth("admin"),
    )
    assert put_amap.status_code == 200, put_amap.text
    assert policy(client.get("/login"))["img-src"][3:] == ["https://*.is.autonavi.com"]
    gcj = client.get("/api/v1/basemap/layers", headers=auth("demo_operator")).json()["bases"]
    assert [(b["name"], b["crs"]) for b in gcj] == [("高德底图", "gcj02")]
    client.put("/api/v1/basemap", json={"provider": "local"}, headers=auth("admin"))
    assert policy(client.get("/login"))["img-src"] == ["'self'", "data:", "blob:"]


def test_the_local_base_is_served_for_the_callers_area(client: TestClient, auth: Auth) -> None:
    town = client.get("/api/v1/basemap/features", headers=auth("demo_operator"))
    assert town.status_code == 200 and town.headers["content-type"] == "application/geo+json"
    names = {f["properties"]["name"] for f in town.json()["features"]}
    assert {"笛扬路", "柯桥大道", "浙东运河", "鉴湖"} <= names
    kinds = {f["properties"]["kind"] for f in town.json()["features"]}
    assert kinds == {"road", "river", "lake"}
    again = client.get(
        "/api/v1/basemap/features",
        headers=auth("demo_operator") | {"If-None-Match": town.headers["etag"]},
    )
    assert again.status_code == 304
    # A grid worker's area is one grid: only what crosses its box.
    grid = client.get("/api/v1/basemap/features", headers=auth("demo_grid_worker")).json()
    assert 0 < len(grid["features"]) < len(town.json()["features"])
    # Another town's code is outside an operator's scope.
    outside = client.get(
        "/api/v1/basemap/features", params={"org": "330603002"}, headers=auth("demo_operator")
    )
    assert outside.status_code in (403, 422)

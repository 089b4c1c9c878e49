"""The pages over HTTP: login with its CSRF token, redirects, role pages, the basemap setting,
the worker app's manifest and service worker. The browser tests (tests/e2e) drive the same
pages in Chromium."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from fengqiao.app import create_app
from fengqiao.auth.cookies import SESSION_COOKIE
from fengqiao.web.views import ADMIN_SECTIONS
from tests.conftest import BoundDatabase, Seeded


def log_in(client: TestClient, username: str, password: str, next_path: str = "") -> Any:
    page = client.get("/login", params={"next": next_path} if next_path else None)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, page.text
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token[1],
              "next": next_path},
        follow_redirects=False,
    )  # fmt: skip


@pytest.fixture
def tiled(bound: BoundDatabase, seeded: Seeded) -> Iterator[TestClient]:
    """The app with a basemap configured."""
    settings = seeded.settings.model_copy(
        update={
            "basemap_url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&tk=KEY",
            "basemap_attribution": "天地图",
        }
    )
    with TestClient(create_app(settings, database=bound)) as client:
        yield client


def test_only_a_demo_login_page_points_at_the_demo_accounts(
    client: TestClient, bound: BoundDatabase, seeded: Seeded
) -> None:
    assert "make demo" not in client.get("/login").text  # a district's own server
    demo = seeded.settings.model_copy(update={"demo_login_hint": True})
    with TestClient(create_app(demo, database=bound)) as on_demo:
        assert "fengqiao users list --demo" in on_demo.get("/login").text


def test_login_sets_a_session_and_lands_on_the_roles_page(
    client: TestClient, seeded: Seeded
) -> None:
    password = seeded.settings.demo_password
    for user, landing in (
        ("demo_operator", "/map"),
        ("demo_grid_worker", "/m/"),
        ("demo_handler", "/events?task=inbox"),
        ("demo_resident", "/r/"),
    ):
        client.cookies.clear()
        response = log_in(client, user, password)
        assert response.status_code == 303 and response.headers["location"] == landing, user
        cookie = response.headers["set-cookie"]
        assert f"{SESSION_COOKIE}=" in cookie and "HttpOnly" in cookie
        assert "samesite=lax" in cookie.lower()
        assert "Max-Age=28800" in cookie  # FENGQIAO_TOKEN_MINUTES, 480 by default


def test_a_wrong_password_or_a_missing_token_is_refused(client: TestClient, seeded: Seeded) -> None:
    wrong = log_in(client, "demo_operator", "wrong-password")
    assert wrong.status_code == 401 and "用户名或密码错误" in wrong.text
    assert SESSION_COOKIE not in client.cookies
    forged = client.post(
        "/login", data={"username": "demo_operator", "password": seeded.settings.demo_password}
    )
    assert forged.status_code == 403 and "页面已过期" in forged.text


def test_pages_redirect_to_login_and_refuse_other_roles(client: TestClient, seeded: Seeded) -> None:
    response = client.get("/events/1", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fevents%2F1"
    log_in(client, "demo_handler", seeded.settings.demo_password)
    refused = client.get("/map")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert 'data-status="403"' in refused.text and "需要以下角色之一" in refused.text
    # The refusal names the roles in Chinese, and the page says it in Chinese only.
    card = refused.text.split('id="page-error"', 1)[1].split("</div>", 1)[0]
    assert "指挥室坐席" in card and "operator" not in card and "this needs" not in card
    missing = client.get("/events/999999999")
    assert missing.status_code == 404 and 'data-status="404"' in missing.text
    assert client.get("/admin/nope").status_code == 403  # not an admin: refused before lookup


def test_each_admin_section_loads_the_engine_then_its_own_script(
    client: TestClient, seeded: Seeded
) -> None:
    """admin.html loads admin/engine.js and the shown section's file, and both are served."""
    log_in(client, "admin", seeded.settings.demo_password)
    for section in ADMIN_SECTIONS:
        page = client.get(f"/admin/{section}")
        scripts = [
            s.split("?")[0] for s in re.findall(r'<script src="(/static/admin/[^"]+)"', page.text)
        ]
        assert scripts == ["/static/admin/engine.js", f"/static/admin/{section}.js"], section
        for script in scripts:
            body = client.get(script)
            assert body.status_code == 200, script
        assert f"SECTIONS.{section} = {{" in body.text


def test_the_map_offers_the_basemap_of_the_settings(tiled: TestClient, seeded: Seeded) -> None:
    """Until an administrator sets one (系统管理 · 底图), FENGQIAO_BASEMAP_URL is the base."""
    log_in(tiled, "demo_operator", seeded.settings.demo_password)
    assert '<script src="/static/basemap.js' in tiled.get("/map").text
    [base] = tiled.get("/api/v1/basemap/layers").json()["bases"]
    assert base["tiles"] == [
        {
            "url": "https://t{s}.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&tk=KEY",
            "subdomains": "01234567",
        }
    ]
    assert base["attribution"] == "天地图"


def test_without_a_basemap_the_map_loads_no_tiles(client: TestClient, seeded: Seeded) -> None:
    log_in(client, "demo_operator", seeded.settings.demo_password)
    assert client.get("/api/v1/basemap/layers").json() == {
        "bases": [],
        "default": "local",
        "local": "/api/v1/basemap/features",
    }


def test_the_worker_app_is_a_pwa(client: TestClient, seeded: Seeded) -> None:
    log_in(client, "demo_grid_worker", seeded.settings.demo_password)
    page = client.get("/m/")
    assert page.status_code == 200
    assert '<link rel="manifest" href="/m/manifest.webmanifest">' in page.text
    manifest = client.get("/m/manifest.webmanifest")
    assert manifest.headers["content-type"] == "application/manifest+json"
    body = manifest.json()
    assert body["scope"] == "/m/" and body["start_url"] == "/m/" and body["lang"] == "zh-CN"
    for icon in body["icons"]:
        assert client.get(icon["src"]).status_code == 200
    worker = client.get("/m/sw.js")
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["cache-control"] == "no-cache"
    assert "/api/" in worker.text  # it keeps its hands off the API
    # An operator has no worker app.
    client.cookies.clear()
    log_in(client, "demo_operator", seeded.settings.demo_password)
    assert client.get("/m/").status_code == 403


def test_logout_needs_the_csrf_token_and_ends_the_session(
    client: TestClient, seeded: Seeded
) -> None:
    log_in(client, "demo_operator", seeded.settings.demo_password)
    page = client.get("/events")
    token = re.search(r'name="csrf-token" content="([^"]+)"', page.text)
    assert token
    assert client.post("/logout", data={"csrf_token": "forged"}).status_code == 403
    out = client.post("/logout", data={"csrf_token": token[1]}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login?reason=logout"
    assert SESSION_COOKIE not in client.cookies
    assert client.get("/events", follow_redirects=False).status_code == 303

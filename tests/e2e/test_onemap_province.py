"""The one-map of a province's and a city's command room in Chromium (map_levels.js): the demo
district re-rooted under 绍兴市 and 浙江省 beside 越城区 (tests/province/world.py). Zoomed out
the map draws outlines and one count per area, never the whole area's grids or events; a click
zooms in, and close in only the grids and events of the box in view are read. Names are text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import func, select, text, update

from fengqiao.auth.models import User
from fengqiao.auth.security import hash_password
from fengqiao.db import Database
from fengqiao.events.models import OPEN_STATES_SQL, Event
from fengqiao.org.models import OrgUnit
from scripts.screenshot import DESKTOP
from tests.e2e.conftest import LiveServer, Visit, open_visit, serve_demo, sign_in
from tests.province.world import PEOPLE, build_world

pytestmark = pytest.mark.e2e

# A name with markup in it: the map must show it as text.
YC_NAME = "越城区<b>粗</b>"


@pytest.fixture(scope="module")
def province_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    tmp: Path = tmp_path_factory.mktemp("province")
    with serve_demo(tmp, events=300) as server:
        database = Database(server.settings.database_url)
        with database.session() as db:
            build_world(db, server.settings)
            db.execute(update(OrgUnit).where(OrgUnit.code == "330602").values(name=YC_NAME))
            password = hash_password(server.settings.demo_password)
            names = [username for username, _role, _home in PEOPLE]
            db.execute(update(User).where(User.username.in_(names)).values(password_hash=password))
            db.commit()
            assert db.scalar(select(OrgUnit.kind).where(OrgUnit.code == "330000")) == "province"
        database.dispose()
        yield server


def open_map(browser: Browser, server: LiveServer, user: str) -> tuple[Visit, Page, list[str]]:
    visit = open_visit(browser, server, DESKTOP, locale="zh-CN")
    page = visit.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    sign_in(visit, user, server.settings.demo_password, landing="/map")
    page.locator("#map[data-state=ready]").wait_for()
    return visit, page, asked


def grid_reads(asked: list[str]) -> list[str]:
    return [url for url in asked if "/grids/geojson" in url or "/command/events.geojson" in url]


def test_province_map_starts_from_city_outlines_and_reads_grids_only_close_in(
    browser: Browser, province_server: LiveServer
) -> None:
    visit, page, asked = open_map(browser, province_server, "zj_leader")
    expect(page.locator("#map")).to_have_attribute("data-outlines", "city")
    expect(page.locator("#map")).to_have_attribute("data-area-counts", "city:1")
    city = page.locator("#map .area-count")
    expect(city).to_have_count(1)
    expect(city).to_contain_text("绍兴市")
    expect(page.locator("#map-status")).to_contain_text("共 1 个市")
    assert page.locator("#onemap").get_attribute("data-grids") in (None, "0")
    # The first load read no grids and no event points at all, only outlines and counts.
    assert grid_reads(asked) == []
    assert any("/map/areas?kind=city" in url for url in asked)
    assert any("/command/area-stats" in url for url in asked)

    city.click()  # zoom to the city: its districts appear, counted one by one
    expect(page.locator("#map")).to_have_attribute("data-outlines", "city,district")
    expect(page.locator("#map")).to_have_attribute("data-area-counts", "district:2")
    yc = page.locator("#map .area-count", has_text="越城区")
    expect(yc).to_have_count(1)
    # The name is text: the markup in it shows as typed, no element made of it.
    expect(yc.locator(".area-name")).to_have_text(YC_NAME)
    assert yc.locator(".area-name b").count() == 0
    assert grid_reads(asked) == []

    asked.clear()
    yc.click()  # 越城区's one 2 km grid: close in, the grids and events of the box in view
    expect(page.locator("#map .area-count")).to_have_count(0)
    expect(page.locator("#onemap")).to_have_attribute("data-grids", re.compile(r"^[1-9]\d*$"))
    expect(page.locator("#map-status")).to_contain_text("视野内")
    reads = grid_reads(asked)
    assert reads and all("bbox=" in url for url in reads), reads
    # Close in the outlines let clicks through: the grid in the middle opens its own popup.
    box = page.locator("#map").bounding_box()
    assert box is not None
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(".grid-popup")).to_contain_text("府山社区第1网格")
    visit.assert_clean()
    visit.screenshot("onemap-province")
    page.context.close()


def test_city_map_draws_its_districts_with_their_counts(
    browser: Browser, province_server: LiveServer
) -> None:
    visit, page, asked = open_map(browser, province_server, "sx_operator")
    expect(page.locator("#map")).to_have_attribute("data-outlines", "district")
    badges = page.locator("#map .area-count")
    expect(badges).to_have_count(2)
    kq = page.locator("#map .area-count", has_text="柯桥区").locator("b")
    # The seeded district's open events are counted on its badge; 越城区 has none.
    assert int(kq.inner_text().replace(",", "")) > 0
    expect(page.locator("#map .area-count", has_text="越城区").locator("b")).to_have_text("0")
    expect(
        page.locator(".leaflet-control-layers-overlays label", has_text="区划轮廓")
    ).to_have_count(1)
    expect(page.locator("#legend")).to_contain_text("区域在办事件数")
    assert grid_reads(asked) == []
    visit.assert_clean()
    page.context.close()


def test_province_wall_draws_outlines_and_area_counts_not_grids(
    browser: Browser, province_server: LiveServer
) -> None:
    visit = open_visit(browser, province_server, DESKTOP, locale="zh-CN")
    page = visit.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    sign_in(visit, "zj_leader", province_server.settings.demo_password, landing="/wall?panel=1")
    page.locator("#wall[data-state=ready]").wait_for()
    expect(page.locator("#wall")).to_have_attribute("data-areas", "1")
    database = Database(province_server.settings.database_url)
    with database.session() as db:
        open_events = db.scalar(
            select(func.count()).select_from(Event).where(text(OPEN_STATES_SQL))
        )
    database.dispose()
    assert open_events
    expect(page.locator("#map-note")).to_have_text(f"在办 {open_events:,} 件")
    assert grid_reads(asked) == []
    assert any("/map/areas?kind=city" in url for url in asked)
    visit.assert_clean()
    page.context.close()

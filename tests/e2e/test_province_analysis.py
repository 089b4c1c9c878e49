"""分析研判 and 考核 above the district, in Chromium: the small demo district re-rooted under
绍兴市 and 浙江省 beside 越城区 (tests/province/world.py), served on its own.

A province leader picks a city or a district, and the towns of the district chosen; a city
leader picks its districts. 考核 opens one level down from the caller's home: the province's
cities, the city's districts.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import update

from fengqiao.auth.models import User
from fengqiao.auth.security import hash_password
from fengqiao.db import Database
from tests.e2e.conftest import ARTIFACTS, LiveServer, desk_visit, serve_demo
from tests.province.world import PEOPLE, World, build_world


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, World]]:
    tmp: Path = tmp_path_factory.mktemp("province-e2e")
    with serve_demo(tmp, events=200) as server:
        database = Database(server.settings.database_url)
        try:
            with database.session() as db:
                built = build_world(db, server.settings)
                db.execute(
                    update(User)
                    .where(User.username.in_([name for name, _, _ in PEOPLE]))
                    .values(password_hash=hash_password(server.settings.demo_password))
                )
                db.commit()
        finally:
            database.dispose()
        yield server, built


def _groups(page: object) -> dict[str, list[str]]:
    """The picker's option groups: label -> option texts."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => Object.fromEntries(Array.from(document.querySelectorAll('#scope-select optgroup'))
             .map((g) => [g.label, Array.from(g.querySelectorAll('option')).map((o) => o.textContent)]))"""
    )


def test_a_province_leader_picks_a_city_a_district_and_its_towns(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, _ = province
    visit = desk_visit(browser, server, "zj_leader", "/analytics")
    page = visit.page
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached(timeout=30000)
    groups = _groups(page)
    # The province's map is coloured by its cities (outlines of /map/areas), not 85,000 grids.
    grid_map = page.locator(".chart-card[data-chart='grid_map']")
    expect(grid_map).to_have_attribute("data-areas", "1", timeout=30000)
    expect(grid_map.locator(".leaflet-overlay-pane canvas")).to_have_count(1)
    assert groups["市"] == ["绍兴市"]
    assert sorted(groups["区"]) == ["柯桥区", "越城区"]
    assert "镇街" not in groups  # a province's towns come with the district chosen
    # 越城区: its one town appears in a group of its own, and can be analysed.
    district = page.locator("#scope-select option", has_text="越城区")
    page.select_option("#scope-select", value=district.get_attribute("value"))
    expect(page.locator("#scope-select optgroup[label='越城区的镇街'] option")).to_have_text(
        ["府山街道"]
    )
    town = page.locator("#scope-select optgroup[label='越城区的镇街'] option").first
    page.select_option("#scope-select", value=town.get_attribute("value"))
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#range-note")).to_contain_text("府山街道")
    expect(page.locator(".chart-card[data-loaded='true']")).to_have_count(18)
    # Another district replaces the towns listed with its own.
    kq = page.locator("#scope-select option", has_text="柯桥区")
    page.select_option("#scope-select", value=kq.get_attribute("value"))
    expect(page.locator("#scope-select optgroup[label='越城区的镇街']")).to_have_count(0)
    expect(page.locator("#scope-select optgroup[label='柯桥区的镇街'] option")).not_to_have_count(0)
    # The city itself: the charts rank its districts.
    city = page.locator("#scope-select option", has_text="绍兴市")
    page.select_option("#scope-select", value=city.get_attribute("value"))
    expect(page.locator("#scope-select optgroup[data-towns-of]")).to_have_count(0)
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#range-note")).to_contain_text("绍兴市")
    expect(page.locator(".chart-card[data-loaded='true']")).to_have_count(18)
    expect(grid_map).to_have_attribute("data-areas", "2")  # the city's two districts
    grid_map.screenshot(path=str(ARTIFACTS / "province-city-map.png"))
    visit.assert_clean()
    page.context.close()


def test_a_city_leader_picks_its_districts(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, world = province
    visit = desk_visit(browser, server, "sx_leader", "/analytics")
    page = visit.page
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached(timeout=30000)
    groups = _groups(page)
    assert sorted(groups) == ["区"]
    assert sorted(groups["区"]) == ["柯桥区", "越城区"]
    # A town asked for in the address is placed under its district, and selected.
    page.goto(f"{server.base_url}/analytics?scope={world.towns['330602']}")
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached(timeout=30000)
    expect(page.locator("#scope-select")).to_have_value(str(world.towns["330602"]))
    expect(page.locator("#range-note")).to_contain_text("府山街道")
    visit.assert_clean()
    page.context.close()


@pytest.mark.parametrize(
    ("user", "tabs", "rows"),
    [
        ("zj_leader", ["市", "区", "镇街", "村社", "责任单位", "网格员"], ["绍兴市"]),
        ("sx_leader", ["区", "镇街", "村社", "责任单位", "网格员"], ["柯桥区", "越城区"]),
    ],
)
def test_assessment_opens_one_level_down_from_the_home(
    browser: Browser,
    province: tuple[LiveServer, World],
    user: str,
    tabs: list[str],
    rows: list[str],
) -> None:
    server, _ = province
    visit = desk_visit(browser, server, user, "/assessment")
    page = visit.page
    expect(page.locator(".level-tabs .tab")).to_have_text(tabs)
    expect(page.locator(".level-tabs .tab.is-current")).to_have_text(tabs[0])
    level = "city" if tabs[0] == "市" else "district"
    expect(page.locator("#assessment-table")).to_have_attribute("data-shown", f"{level} -score")
    names = page.locator("#assessment-table tbody td.name-cell")
    expect(names).to_have_count(len(rows))
    assert sorted(names.all_inner_texts()) == rows
    assert f"level={level}" in page.url
    # The district tab of a province: both districts, each with its city.
    if user == "zj_leader":
        page.locator(".level-tabs .tab[data-level=district]").click()
        expect(page.locator("#assessment-table")).to_have_attribute("data-shown", "district -score")
        expect(names).to_have_count(2)
    visit.assert_clean()
    page.context.close()


def test_a_district_user_keeps_the_towns(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, _ = province
    visit = desk_visit(browser, server, "kq_leader", "/assessment")
    page = visit.page
    expect(page.locator(".level-tabs .tab")).to_have_text(["镇街", "村社", "责任单位", "网格员"])
    expect(page.locator("#assessment-table")).to_have_attribute("data-shown", "town -score")
    visit.assert_clean()
    page.context.close()


def test_a_city_leader_keeps_the_district_on_the_benchmark_towns(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    """标杆镇街 of a city: the district chosen on 年度考核 follows the link, and the page offers
    the city's districts to switch (before: the first district, with no chooser)."""
    server, world = province
    yc, kq = world.districts["330602"], world.districts["330603"]
    visit = desk_visit(browser, server, "sx_leader", f"/assessment/annual?district={kq}")
    page = visit.page
    expect(page.locator("#annual-district")).to_have_value(str(kq))
    page.locator(".page-head a", has_text="标杆镇街").click()
    page.wait_for_url(f"**/assessment/benchmarks?**district={kq}**")
    picker = page.locator("#annual-district")
    expect(picker).to_be_visible()
    expect(picker).to_have_value(str(kq))
    expect(page.locator("#benchmark-table tbody tr").first).to_contain_text("柯桥区")
    picker.select_option(str(yc))
    page.wait_for_url(f"**district={yc}**")
    expect(page.locator("#benchmark-table tbody tr")).to_have_count(1)
    expect(page.locator("#benchmark-table tbody tr")).to_contain_text("府山街道")
    visit.assert_clean()
    page.context.close()

"""The event center, an event's page, search and 工作机制 in Chromium as a province's and a city's
command center see them: the small demo district under 绍兴市 and 浙江省 with 越城区 beside it
(tests/province/world.py), and no standard published yet.

The province's operator picks 市 then 区（县） then 镇街, the rows name their 市／区, a reload keeps
the choice; a city's operator is offered its districts only; a finished event shows no light;
the source filter is in Chinese; the search box finds a district with its city; /mechanisms and
/standards make no failing request while no standard is published."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select, update

from fengqiao.auth.models import User, UserRole
from fengqiao.auth.security import hash_password
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.org.models import OrgUnit
from fengqiao.standards.models import StandardVersion
from tests.e2e.conftest import Api, Held, LiveServer, Visit, desk_visit, serve_demo, settle
from tests.province.world import PEOPLE, World, build_world

pytestmark = pytest.mark.e2e

YC, KQ = "330602", "330603"


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, World]]:
    """The served demo under a city and province, with a province operator, an event filed in
    越城区, and its standard back to a draft (none in force)."""
    built: list[World] = []

    def prepare(database: Database, settings: Settings) -> None:
        with database.session() as db:
            built.append(build_world(db, settings))
            province_id = db.scalar(select(OrgUnit.id).where(OrgUnit.code == "330000"))
            assert province_id is not None
            operator = User(username="zj_operator", name="省指挥中心坐席",
                            home_org_id=province_id, is_active=True)  # fmt: skip
            db.add(operator)
            db.flush()
            db.add(UserRole(user_id=operator.id, role="operator"))
            names = [p[0] for p in PEOPLE] + ["zj_operator"]
            db.execute(
                update(User)
                .where(User.username.in_(names))
                .values(password_hash=hash_password(settings.demo_password))
            )
            db.execute(update(StandardVersion).values(status="draft"))
            db.commit()

    with serve_demo(tmp_path_factory.mktemp("province"), events=300, prepare=prepare) as server:
        world = built[0]
        api = Api(server)
        lat, lng = world.points[YC]
        body = {"source": "hotline", "category": world.category, "description": "府山街道路口占道经营",
                "lat": lat, "lng": lng, "address": "府山路", "contact_phone": "13700000000"}  # fmt: skip
        world.events[YC] = api.post("yc_operator", "/events", expect=201, json=body)
        yield server, world


def _ids(page: Page) -> list[int]:
    return [int(i) for i in page.locator("#events-table tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)")]  # fmt: skip


def _desk(browser: Browser, server: LiveServer, user: str, landing: str) -> Visit:
    return desk_visit(browser, server, user, landing)


def test_the_province_picks_a_city_a_district_and_a_town(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, world = province
    desk = _desk(browser, server, "zj_operator", "/events")
    page = desk.page
    page.locator("#events-table tbody tr[data-id]").first.wait_for()
    city, district, town = (page.locator(f"#filter-{n}") for n in ("city", "district", "town"))
    expect(city).to_be_visible()
    expect(city.locator("option")).to_have_text(["全部", "绍兴市"])
    expect(district.locator("option")).to_have_text(["全部", "越城区", "柯桥区"])
    expect(town).to_be_hidden()  # 1,360 towns of a province: offered once a district is chosen
    expect(page.locator("#area-head")).to_be_visible()
    yc_event = world.events[YC]["id"]
    first_row = page.locator("#events-table tbody tr[data-id]").first
    expect(first_row.locator(".area-cell")).to_contain_text("绍兴市")
    # Sources in Chinese: the open interface is 开放接口, no Latin letters in any option.
    sources = page.locator("#filter-source option").all_inner_texts()
    assert "开放接口" in sources and not any(
        ch.isascii() and ch.isalpha() for s in sources for ch in s
    )
    city.select_option(label="绍兴市")
    district.select_option(label="越城区")
    expect(town).to_be_visible()
    expect(town.locator("option")).to_have_text(["全部", "府山街道"])
    page.locator("#filters [type=submit]").click()
    page.wait_for_url(f"**district={world.districts[YC]}**")
    expect(page.locator("#events-table tbody tr[data-id]")).to_have_count(1)
    assert _ids(page) == [yc_event]
    row = page.locator(f"#events-table tbody tr[data-id='{yc_event}']")
    expect(row.locator(".area-cell")).to_have_text("绍兴市越城区")
    # A reload keeps the choice, with the district's towns offered.
    page.reload()
    page.locator("#events-table tbody tr[data-id]").first.wait_for()
    expect(district).to_have_value(str(world.districts[YC]))
    expect(town.locator("option")).to_have_text(["全部", "府山街道"])
    assert _ids(page) == [yc_event]
    settle(page)
    desk.screenshot("events-province")
    desk.assert_clean()
    # The event's page names its city and district before the town; once accepted, the
    # dispatch form offers the units that may take it: 越城区's and its town's, not the first
    # 500 units of the province (柯桥区's sort first by code).
    Api(server).act(world.events[YC], "zj_operator", "accept")
    page.goto(f"{server.base_url}/events/{yc_event}")
    expect(page.locator("#event-facts")).to_contain_text("绍兴市 越城区 府山街道")
    page.locator("#action-tabs button[data-action='dispatch']").click()
    options = page.locator(".action-form[data-action='dispatch'] select[name=unit_id] option")
    # The proposed unit comes first, the three reads of units after it: wait for them.
    expect(options.nth(3)).to_be_attached()
    settle(page)
    names = options.all_inner_texts()
    assert len(names) > 3 and all(name.startswith("越城") for name in names), names
    settle(page)
    desk.assert_clean()
    page.context.close()


def test_a_city_is_offered_its_districts(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, world = province
    desk = _desk(browser, server, "sx_operator", f"/events?district={world.districts[KQ]}")
    page = desk.page
    page.locator("#events-table tbody tr[data-id]").first.wait_for()
    expect(page.locator("#filter-city")).to_be_hidden()
    expect(page.locator("#filter-district option")).to_have_text(["全部", "越城区", "柯桥区"])
    expect(page.locator("#filter-district")).to_have_value(str(world.districts[KQ]))
    assert world.events[YC]["id"] not in _ids(page)
    settle(page)
    desk.assert_clean()
    page.context.close()


def test_a_slow_answer_for_a_district_chosen_before_does_not_fill_the_towns(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    # 越城区's towns are held back until 柯桥区's are offered; then they arrive late and must be
    # dropped: the town filter offers 柯桥区's towns only.
    server, _world = province
    tree = Api(server).get("zj_operator", "/org/tree", depth=1, root=KQ)
    kq_towns = [n["name"] for n in tree["children"] if n["kind"] == "town"]
    desk = _desk(browser, server, "zj_operator", "/events")
    page = desk.page
    page.locator("#events-table tbody tr[data-id]").first.wait_for()
    held = Held(page, re.compile(r"/api/v1/org/tree\?"), f"root={YC}")
    district, town = page.locator("#filter-district"), page.locator("#filter-town")
    district.select_option(label="越城区")
    district.select_option(label="柯桥区")
    expect(town.locator("option")).to_have_text(["全部", *kq_towns])
    held.release()
    expect(town.locator("option")).to_have_text(["全部", *kq_towns])
    desk.assert_clean()
    page.context.close()


def test_a_finished_event_shows_no_light(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, _world = province
    closed: Any = Api(server).get("zj_operator", "/events", status="closed", size=1)["items"][0]
    assert closed["light"] is None
    desk = _desk(browser, server, "zj_operator", "/events?status=closed")
    page = desk.page
    row = page.locator(f"#events-table tbody tr[data-id='{closed['id']}']")
    expect(row.locator(".light")).to_have_class("light light-none")
    page.goto(f"{server.base_url}/events/{closed['id']}")
    expect(page.locator("#event-badges .light")).to_have_class("light light-none")
    settle(page)
    desk.assert_clean()
    page.context.close()


def test_the_event_page_reads_the_grids_near_the_event_only(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    """The event's small map outlines its grid from the grids in a box around it, not from every
    grid of a province (85,000 in the province demo)."""
    server, world = province
    event = world.events[YC]
    desk = _desk(browser, server, "zj_operator", "/events")
    page = desk.page
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/grids/geojson" in r.url else None)
    page.goto(f"{server.base_url}/events/{event['id']}")
    expect(page.locator("#event-map path[stroke='#b22222']")).to_have_count(1)
    settle(page)
    assert asked and all("bbox=" in url for url in asked), asked
    desk.assert_clean()
    page.context.close()


def test_search_finds_a_district_with_its_city(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, _world = province
    desk = _desk(browser, server, "zj_operator", "/events")
    page = desk.page
    page.locator("#place-search").fill("越城")
    item = page.locator(".place-search-item", has_text="越城区").first
    expect(item.locator(".place-search-sub")).to_have_text("区")
    expect(item.locator(".place-search-detail")).to_have_text("绍兴市")
    settle(page)
    desk.assert_clean()
    page.context.close()


def test_mechanisms_and_standards_without_a_standard_make_no_failing_request(
    browser: Browser, province: tuple[LiveServer, World]
) -> None:
    server, _world = province
    desk = _desk(browser, server, "demo_district_operator", "/mechanisms")
    page = desk.page
    failed: list[str] = []
    page.on("response", lambda r: failed.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.reload()
    expect(page.locator("[data-figure=standard] strong")).to_have_text("尚未发布")
    settle(page)
    page.goto(f"{server.base_url}/standards")
    expect(page.locator("#standard-current")).to_contain_text("尚未发布标准")
    settle(page)
    assert failed == []
    desk.assert_clean()
    page.context.close()

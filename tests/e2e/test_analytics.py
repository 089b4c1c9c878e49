"""分析研判 in Chromium: the 18 charts for the district and a town, the grid map, CSV and PNG."""

from __future__ import annotations

import re

import httpx
from playwright.sync_api import Browser, Request, Route, expect

from tests.e2e.conftest import Api, LiveServer, desk_visit


def test_the_leader_sees_all_18_charts_and_the_grid_map(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    leader = desk_visit(browser, live_server, "demo_district_leader", "/analytics")
    page = leader.page
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached(timeout=20000)
    cards = page.locator(".chart-card")
    expect(cards).to_have_count(18)
    expect(page.locator(".chart-card[data-loaded='true']")).to_have_count(18)
    # Each ECharts card drew a canvas; the grid map drew the district's grids on Leaflet.
    expect(page.locator(".chart-card:not([data-chart='grid_map']):has(canvas)")).to_have_count(17)
    expect(page.locator("[data-chart='grid_map'] .leaflet-overlay-pane canvas")).to_have_count(1)
    assert int(page.locator("[data-chart='grid_map']").get_attribute("data-grids") or 0) > 0
    # What the page shows for the range is what the API says.
    params = page.evaluate("location.search")
    body = httpx.get(
        f"{api.base}/analytics/charts/daily_new_closed{params}",
        headers=api.headers("demo_district_leader"),
    ).json()
    compare = page.locator("[data-chart='daily_new_closed'] .chart-compare")
    expect(compare).to_contain_text(f"本期新增 {body['compare']['current']['new']:,} 件")
    expect(compare).to_contain_text("同比")
    expect(page.locator("[data-chart='hour_weekday'] .chart-note")).to_contain_text("按整月统计")
    leader.screenshot("analytics-district")

    # The last twelve months, then one town.
    page.get_by_role("button", name="近12个月").click()
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached()
    options = page.locator("#scope-select option")
    assert options.count() >= 2
    town = options.nth(1)
    town_name = town.inner_text()
    page.select_option("#scope-select", value=town.get_attribute("value"))
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#range-note")).to_contain_text(town_name)
    expect(page.locator(".chart-card[data-loaded='true']")).to_have_count(18)
    expect(page.locator("[data-chart='areas_ranked'] .chart-compare")).to_have_count(1)

    # CSV of a chart, from its link.
    with page.expect_download() as download:
        page.locator("[data-chart='sources'] .csv-link").click()
    text = download.value.path().read_text(encoding="utf-8-sig")
    assert text.splitlines()[0] == "来源,件数"
    # PNG of a chart, drawn by ECharts in the page.
    with page.expect_download() as picture:
        page.locator("[data-chart='sources'] .png-link").click()
    assert re.fullmatch(
        r"sources-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.png", picture.value.suggested_filename
    )
    assert picture.value.path().read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    leader.screenshot("analytics-town")
    leader.assert_clean()
    page.context.close()


def test_a_slow_answer_to_an_older_range_does_not_overwrite_a_newer_one(
    browser: Browser, live_server: LiveServer
) -> None:
    # The twelve months' 每日新增与结案 is held back until the thirty days asked after them are
    # drawn; then it arrives late and must be dropped: the card keeps the thirty days' headline.
    leader = desk_visit(browser, live_server, "demo_district_leader", "/analytics")
    page = leader.page
    loaded = page.locator(".chart-card[data-loaded='true']")
    expect(loaded).to_have_count(18, timeout=20000)
    headline = page.locator("[data-chart='daily_new_closed'] .chart-compare")
    thirty_days = headline.text_content() or ""
    recent = "from=" + page.locator("#analytics-form input[name='from']").input_value()
    older: list[str] = []
    held: list[Route] = []

    def hold_the_card(route: Route, request: Request) -> None:
        # The range's first answer is the check of the range; its second is the card's.
        if recent not in request.url:
            older.append(request.url)
            if len(older) == 2:
                held.append(route)
                return
        route.continue_()

    pattern = re.compile(r"/api/v1/analytics/charts/daily_new_closed\?")
    page.route(pattern, hold_the_card)
    page.get_by_role("button", name="近12个月").click()
    expect(loaded).to_have_count(17)  # every card but the held one
    page.get_by_role("button", name="近30天").click()
    expect(loaded).to_have_count(18)
    expect(headline).to_have_text(thirty_days)
    assert len(held) == 1
    with page.expect_response(older[1]):
        held[0].continue_()
    page.wait_for_timeout(300)
    expect(headline).to_have_text(thirty_days)
    expect(loaded).to_have_count(18)
    expect(page.locator(".chart-card.is-loading")).to_have_count(0)
    page.unroute(pattern)
    leader.assert_clean()
    page.context.close()


def test_a_wrong_range_is_said_on_the_form(browser: Browser, live_server: LiveServer) -> None:
    # Whatever today is, a start after the end is refused; the address reaches the form whole.
    leader = desk_visit(
        browser, live_server, "demo_leader", "/analytics?from=2026-12-05&to=2026-12-01"
    )
    form = leader.page.locator("#analytics-form")
    expect(form.locator("input[name='from']")).to_have_value("2026-12-05")
    expect(form.locator("input[name='to']")).to_have_value("2026-12-01")
    error = leader.page.locator("#analytics-form .form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("开始日期不能晚于结束日期")
    leader.page.context.close()


def test_grid_workers_do_not_get_the_dashboard(browser: Browser, live_server: LiveServer) -> None:
    worker = desk_visit(browser, live_server, "demo_grid_worker", "/analytics")
    expect(worker.page.locator("#page-error[data-status='403']")).to_be_visible()
    worker.page.context.close()

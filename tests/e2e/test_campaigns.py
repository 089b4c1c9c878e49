"""Campaigns in Chromium (issue 20, item 2): the district operator opens 专项整治, finds the demo's
文明城市创建 campaign with its events tagged and closings counted, and reads its dashboard (the
measures, the charts per measure, per town and over time, the lagging towns); a town operator
defines a campaign of the town in the form, and a measure counting a class twice is refused
with the reason shown."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, expect

from fengqiao.campaigns.tagging import run as run_job
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.campaigns import CIVILISED_CITY, fill_campaigns
from tests.e2e.conftest import Api, LiveServer, desk_visit, settle
from tests.events.conftest import World


def today(offset: int = 0) -> str:
    return str((datetime.now(UTC).astimezone(LOCAL_TZ) + timedelta(days=offset)).date())


def test_the_civilised_city_dashboard_is_alive(browser: Browser, live_server: LiveServer) -> None:
    database = Database(live_server.settings.database_url)
    try:
        fill_campaigns(database=database)  # the demo's fill after its year of events
    finally:
        database.dispose()
    desk = desk_visit(browser, live_server, "demo_district_operator", "/campaigns")
    page = desk.page
    row = page.locator("#campaign-table tbody tr", has_text=CIVILISED_CITY)
    expect(row).to_contain_text("进行中")
    expect(row).to_contain_text("整治占道经营")
    expect(row).to_contain_text("平方米")
    row.get_by_role("link", name=CIVILISED_CITY).click()
    expect(page.locator("#campaign-name")).to_have_text(CIVILISED_CITY)
    expect(page.locator("#measure-cards .measure-card")).to_have_count(8)
    expect(page.locator("#measure-cards")).to_contain_text("340家")
    expect(page.locator("#measure-cards")).to_contain_text("32034平方米")
    for chart in ("measures", "towns", "trend"):
        expect(page.locator(f"#chart-{chart} canvas")).to_have_count(1)
    expect(page.locator("#trend-measure option")).to_have_count(8)
    page.locator("#trend-measure").select_option(label="拆除违建面积（平方米）")
    settle(page)
    # The lagging table or its empty note, never both.
    lagging = page.locator("#lagging-table tbody tr").count()
    expect(page.locator("#lagging-empty")).to_be_hidden() if lagging else expect(
        page.locator("#lagging-empty")
    ).to_be_visible()
    page.locator("#chart-measures").hover()
    settle(page)
    desk.screenshot("campaign-dashboard")
    desk.assert_clean()
    page.context.close()


def test_a_town_operator_defines_a_campaign_and_overlap_is_refused(
    browser: Browser, live_server: LiveServer
) -> None:
    desk = desk_visit(browser, live_server, "demo_operator", "/campaigns")
    page = desk.page
    page.locator("#campaign-new summary").click()
    form = page.locator("#campaign-form")
    expect(page.locator("#campaign-area option")).to_have_count(1)  # the operator's town only
    expect(page.locator("#campaign-area")).to_contain_text("柯桥街道")
    form.locator("input[name=name]").fill("集贸市场周边秩序整治")
    form.locator("input[name=start_date]").fill(today(-10))
    form.locator("input[name=end_date]").fill(today(50))
    rows = page.locator("#measure-table tbody tr")
    first = rows.nth(0)
    first.locator(".m-name").fill("整治占道经营")
    first.locator(".m-class").select_option(label="占道经营")
    first.locator(".m-unit").select_option("起")
    first.locator(".m-target").fill("60")
    page.locator("#measure-add").click()
    second = rows.nth(1)
    second.locator(".m-name").fill("劝离占道摊位")
    second.locator(".m-class").select_option(label="占道经营")
    second.locator(".m-unit").select_option("起")
    second.locator(".m-target").fill("30")
    desk.assert_clean()
    page.locator("#campaign-submit").click()
    error = form.locator(".form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("措施重复统计")
    second.locator(".m-unit").select_option("处")
    second.locator(".m-name").fill("取缔流动摊贩")
    second.locator(".m-class").select_option(label="流动摊贩")
    page.locator("#campaign-submit").click()
    row = page.locator("#campaign-table tbody tr", has_text="集贸市场周边秩序整治")
    expect(row).to_contain_text("整治占道经营")
    expect(row).to_contain_text("取缔流动摊贩")
    row.get_by_role("link").click()
    expect(page.locator("#measure-cards .measure-card")).to_have_count(2)
    expect(page.locator("#chart-trend canvas")).to_have_count(1)
    page.context.close()


def test_the_handler_enters_the_demolished_area_on_the_event_page(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    town = api.get("demo_operator", "/org/units", kind="town", size=1)["items"][0]
    code = world.handler_category
    body = {"name": "拆违控违专项行动", "org_id": town["id"], "classes": [code],
            "start_date": today(-5), "end_date": today(60),
            "measures": [{"name": "拆除违建", "unit": "处", "classes": [code], "target": 20},
                         {"name": "拆除面积", "unit": "m²", "classes": [code], "target": 5000}]}  # fmt: skip
    campaign = api.post("demo_operator", "/campaigns", expect=201, json=body)
    event = api.file(world, description="村口新搭违章棚屋")
    api.act(event, "demo_operator", "accept")
    api.act(event, "demo_operator", "dispatch")
    database = Database(live_server.settings.database_url)
    try:
        run_job(database, now=datetime.now(UTC))  # the worker's campaigns job
    finally:
        database.dispose()
    desk = desk_visit(browser, live_server, "demo_handler", f"/events/{event['id']}")
    page = desk.page
    expect(page.locator("#event-campaigns")).to_be_visible()
    # The event may count for a demo campaign too: this campaign's block.
    card = page.locator("#event-campaigns .event-campaign", has_text="拆违控违专项行动")
    expect(card.locator("label", has_text="拆除违建")).to_contain_text("（默认）")
    area = card.get_by_label("拆除面积")
    expect(area).to_have_value("0")
    area.fill("320")
    card.get_by_role("button", name="保存数量").click()
    expect(card.locator("label", has_text="拆除面积")).not_to_contain_text("（默认）")
    expect(card.get_by_label("拆除面积")).to_have_value("320")
    desk.screenshot("campaign-event-card")
    desk.assert_clean()
    page.context.close()
    stored = api.get("demo_operator", f"/campaigns/{campaign['id']}/events")["items"]
    (mine,) = [e["quantities"] for e in stored if e["code"] == event["code"]]
    first, second = (str(m["id"]) for m in campaign["measures"])
    assert mine == {first: 1.0, second: 320.0}  # the shown default saved with the area

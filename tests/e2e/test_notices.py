"""Notices and leaflets in Chromium (issue 19, item 6): an operator publishes a notice to a
village in 宣传; the resident of that village sees it at /r/notices on a 390×844 phone (and the
public page, signed out, with the village chosen); an HTML payload in a notice is shown as
text; a grid worker records two households in /m/ and the coverage shows, in the app and to the
operator."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from playwright.sync_api import Browser, FilePayload, ViewportSize, expect
from sqlalchemy import select

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.org.models import OrgUnit
from tests.e2e.conftest import (
    JPEG_PHOTO,
    Api,
    LiveServer,
    desk_visit,
    open_visit,
    phone_context_options,
    sign_in,
)
from tests.events.conftest import World

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PAYLOAD = '<img src=x onerror="document.title=1">通知<b>加粗</b>'


def home_of(server: LiveServer, username: str) -> OrgUnit:
    database = Database(server.settings.database_url)
    try:
        with database.session() as db:
            user = db.scalars(select(User).where(User.username == username)).one()
            unit = db.get(OrgUnit, user.home_org_id)
            assert unit is not None
            db.expunge(unit)
            return unit
    finally:
        database.dispose()


def today(offset: int = 0) -> str:
    return str((datetime.now(UTC).astimezone(LOCAL_TZ) + timedelta(days=offset)).date())


def test_an_operator_publishes_and_a_resident_sees_it_on_the_phone(
    browser: Browser, live_server: LiveServer
) -> None:
    village = home_of(live_server, "demo_resident")
    assert village.kind == "village"
    desk = desk_visit(browser, live_server, "demo_operator", "/notices/manage")
    page = desk.page
    form = page.locator("#notice-form")
    page.locator("#notice-new summary").click()
    expect(page.locator(f"#notice-area option[value='{village.id}']")).to_have_count(1)
    form.locator("select[name=org_id]").select_option(str(village.id))
    form.locator("input[name=title]").fill("冬季用电安全提醒")
    form.locator("textarea[name=text]").fill(
        "请勿私拉电线给电动自行车充电。\n如发现隐患请拨打网格员电话。"
    )
    form.locator("input[name=valid_from]").fill(today(-1))
    poster: FilePayload = {"name": "poster.jpg", "mimeType": "image/jpeg", "buffer": JPEG_PHOTO}
    page.locator("#notice-images").set_input_files([poster])
    expect(page.locator("#notice-images-chosen")).to_have_text("已选择 1 张图片")
    page.locator("#notice-submit").click()
    row = page.locator("#notice-table tbody tr", has_text="冬季用电安全提醒")
    expect(row).to_contain_text("已发布")
    expect(row).to_contain_text(village.name)
    row.scroll_into_view_if_needed()
    desk.screenshot("notices-manage")
    desk.assert_clean()
    page.context.close()

    phone = open_visit(
        browser, live_server, PHONE_390, has_touch=True, is_mobile=True, locale="zh-CN"
    )
    sign_in(phone, "demo_resident", live_server.settings.demo_password, landing="/r/notices")
    card = phone.page.locator("#notice-list li", has_text="冬季用电安全提醒")
    expect(card).to_be_visible()
    expect(card).to_contain_text("请勿私拉电线")
    image = card.locator(".r-notice-images img")
    expect(image).to_have_count(1)
    image.scroll_into_view_if_needed()
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("(img) => img.naturalWidth") == 320
    expect(phone.page.locator(".r-tabs a[aria-current=page]")).to_have_text("✉通知")
    width = phone.page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, width
    phone.screenshot("resident-notices-390")
    phone.assert_clean()
    phone.page.context.close()

    # Signed out: the district's notices, and the village's once it is chosen.
    public = open_visit(browser, live_server, PHONE_390, locale="zh-CN")
    public.page.goto(f"{live_server.base_url}/r/notices")
    expect(public.page.locator("#login")).to_be_visible()
    expect(public.page.locator("#notice-area")).to_contain_text("的通知")
    expect(public.page.locator("#notice-list li", has_text="冬季用电安全提醒")).to_have_count(0)
    expect(public.page.locator(f"#notice-village option[value='{village.id}']")).to_have_count(1)
    public.page.locator("#notice-village").select_option(str(village.id))
    expect(public.page.locator("#notice-list li", has_text="冬季用电安全提醒")).to_be_visible()
    public.assert_clean()
    public.page.context.close()


def test_html_in_a_notice_is_shown_as_text(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    village = home_of(live_server, "demo_resident")
    notice = api.post("demo_operator", "/notices", expect=201, json={
        "org_id": village.id, "title": PAYLOAD, "text": PAYLOAD, "publish": True,
        "valid_from": today(-1), "valid_to": today(3)})  # fmt: skip
    try:
        _shown_as_text(browser, live_server)
    finally:
        # The shared demo server's residents would read the payload's Latin words in 通知 (the
        # residents' language checks in test_resident_reports.py): withdrawn once seen.
        api.post("demo_operator", f"/notices/{notice['id']}/withdraw",
                 json={"version": notice["version"], "reason": "测试结束"})  # fmt: skip


def _shown_as_text(browser: Browser, live_server: LiveServer) -> None:
    village = home_of(live_server, "demo_resident")
    visit = open_visit(browser, live_server, PHONE_390, locale="zh-CN")
    page = visit.page
    page.goto(f"{live_server.base_url}/r/notices")
    page.locator("#notice-village").select_option(str(village.id))
    card = page.locator("#notice-list li", has_text="onerror")
    expect(card.locator(".r-notice-title")).to_have_text(PAYLOAD)
    expect(card.locator(".r-notice-text")).to_have_text(PAYLOAD)
    assert card.locator("img, b").count() == 0
    assert page.title() != "1"
    visit.screenshot("resident-notices-html")
    visit.assert_clean()
    page.context.close()
    desk = desk_visit(browser, live_server, "demo_operator", "/notices/manage")
    row = desk.page.locator("#notice-table tbody tr", has_text="onerror").first
    expect(row.locator(".notice-title")).to_have_text(PAYLOAD)
    assert row.locator("td img, td b").count() == 0
    desk.page.context.close()


def test_a_grid_worker_records_two_households_and_the_coverage_shows(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    grid = home_of(live_server, "demo_grid_worker")
    town_id = int(grid.path.strip("/").split("/")[1])
    made: dict[str, Any] = api.post("demo_operator", "/leaflets/campaigns", expect=201, json={
        "org_id": town_id, "name": "浏览器测试宣传折页", "copies": 5000})  # fmt: skip
    visit = open_visit(browser, live_server, PHONE_390, **phone_context_options(world))
    sign_in(visit, "demo_grid_worker", live_server.settings.demo_password)
    page = visit.page
    page.locator("#app[data-state=ready]").wait_for()
    page.locator(".tab-bar button[data-tab=patrol]").click()
    page.locator("#leaflet-campaign").select_option(str(made["id"]))
    page.locator("#leaflet-grid").select_option(str(grid.id))
    expect(page.locator("#leaflet-coverage")).to_contain_text("本网格已发放 0 户")
    for door in ("8幢101室", "8幢102室"):
        page.locator("#leaflet-household").fill(door)
        page.locator("#leaflet-submit").click()
        expect(page.locator("#leaflet-doors li", has_text=door)).to_be_visible()
    expect(page.locator("#leaflet-coverage")).to_contain_text("本网格已发放 2 户")
    visit.assert_clean()
    page.locator("#leaflet-household").fill("8幢 101室")  # the same door, written otherwise
    page.locator("#leaflet-submit").click()
    expect(page.locator("#leaflet-form .form-error")).to_contain_text("已发放过")
    assert [e for e in visit.errors if "409" not in e] == []  # the refusal the browser logs
    bar = page.locator(".tab-bar").bounding_box()
    assert bar is not None and bar["width"] <= 390
    page.locator("#leaflet-card").scroll_into_view_if_needed()
    visit.screenshot("worker-leaflets-390")
    page.context.close()

    desk = desk_visit(browser, live_server, "demo_operator", "/notices/manage")
    row = desk.page.locator("#campaign-table tbody tr", has_text="浏览器测试宣传折页")
    expect(row).to_contain_text("2")
    row.locator("button").click()
    grid_row = desk.page.locator(f"#coverage-table tbody tr[data-grid='{grid.id}']")
    expect(grid_row).to_be_visible()
    cells = grid_row.locator("td")
    expect(cells.nth(3)).to_have_text("2")
    desk.page.locator("#coverage-card").scroll_into_view_if_needed()
    desk.screenshot("notices-coverage")
    desk.assert_clean()
    desk.page.context.close()

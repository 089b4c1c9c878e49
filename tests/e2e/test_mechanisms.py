"""工作机制 in Chromium (issue 20): the command room's one entry to the mechanisms around the loop.
The district operator opens it from the navigation, reads a figure on each card (from each
mechanism's own list, so the same as that list's total), follows a card and still finds the
entry marked current; a handler, whose navigation lacks it, is told the page is not theirs."""

from __future__ import annotations

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Api, LiveServer, desk_visit, settle

CARDS = ("联合行动", "专项整治", "研判会商", "督查整改", "标准化建设", "年度考核", "标杆镇街",
         "督办事项")  # fmt: skip


def test_the_operator_reaches_every_mechanism_from_one_entry(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    desk = desk_visit(browser, live_server, "demo_district_operator", "/map")
    page = desk.page
    page.locator(".main-nav a", has_text="工作机制").click()
    page.wait_for_url("**/mechanisms")
    expect(page.locator(".mechanism h2")).to_have_text(list(CARDS))
    figures = page.locator("[data-figure] strong")
    # Every figure is read (a dash stays only where a read failed).
    for index in range(figures.count()):
        expect(figures.nth(index)).not_to_have_text("—")
    # The same numbers as the lists the cards open.
    active = api.get("demo_district_operator", "/campaigns", status="active", size=1)["total"]
    expect(page.locator("[data-figure=campaigns] strong")).to_have_text(str(active))
    late = api.get("demo_district_operator", "/tasks", status="open", light="red", size=1)["total"]
    expect(page.locator("[data-figure=late] strong")).to_have_text(f"{late:,}")
    assert active >= 1, "the demo's 文明城市创建 runs"
    current = api.get("demo_district_operator", "/standards/current")["title"]
    expect(page.locator("[data-figure=standard] strong")).to_have_text(current)
    desk.screenshot("mechanisms")
    page.locator(".mechanism", has_text="专项整治").click()
    page.wait_for_url("**/campaigns")
    settle(page)
    expect(page.locator(".main-nav a[aria-current=page]")).to_have_text("工作机制")
    desk.assert_clean()
    page.context.close()


def test_a_handler_is_told_the_page_is_not_theirs(
    browser: Browser, live_server: LiveServer
) -> None:
    desk = desk_visit(browser, live_server, "demo_handler", "/events?task=inbox")
    page = desk.page
    expect(page.locator(".main-nav a", has_text="工作机制")).to_have_count(0)
    response = page.goto(live_server.base_url + "/mechanisms")
    assert response is not None and response.status == 403
    expect(page.locator("#page-error")).to_contain_text("需要以下角色之一")
    page.context.close()

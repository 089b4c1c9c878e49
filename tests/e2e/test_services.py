"""最多跑一次 and 代办 in the browser: anyone reads the catalogue without logging in; a resident
asks for a proxy service, the grid worker takes, submits and finishes it in the phone app, and
the resident follows it to the end with its trail."""

from __future__ import annotations

import re

from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Api, LiveServer, Visit, desk_visit
from tests.events.conftest import World


def test_the_catalogue_is_public_and_searchable(visit: Visit) -> None:
    page = visit.page
    page.goto(f"{visit.base_url}/services")
    expect(page.locator("h1")).to_contain_text("办事指南")
    expect(page.locator("#user-bar")).to_have_count(0)  # nobody signed in
    expect(page.locator("#service-table tbody tr")).to_have_count(50)
    page.locator("#service-search [name=q]").fill("高龄津贴")
    page.locator("#service-search").get_by_role("button", name="查询").click()
    first = page.locator("#service-table tbody tr").first
    expect(first).to_contain_text("高龄津贴申请")
    guide = page.locator("#service-guide")
    expect(guide).to_contain_text("高龄津贴申请")
    expect(page.locator("#guide-limit")).to_have_text("10 个工作日")
    expect(page.locator("#guide-materials li").first).to_have_text("居民身份证")
    expect(guide).to_contain_text("民政办")
    expect(guide).to_contain_text("村（社区）代办点")
    # Two characters cannot use the trigram index; the LIKE fallback still finds them.
    page.locator("#service-search [name=q]").fill("低保")
    page.locator("#service-search").get_by_role("button", name="查询").click()
    expect(page.locator("#service-table tbody")).to_contain_text("最低生活保障申请")
    page.locator("#service-search [name=q]").fill("没有这种事项")
    page.locator("#service-search").get_by_role("button", name="查询").click()
    expect(page.locator("#service-table tbody")).to_contain_text("没有找到相关事项")
    # The guide of the previous search's first item does not linger beside an empty list.
    expect(page.locator("#service-guide")).to_have_count(0)
    expect(page.locator("#service-detail")).to_contain_text("点击列表中的事项，查看办事指南")
    visit.screenshot("services-catalogue")
    visit.assert_clean()


def test_a_proxy_request_from_the_resident_to_the_result(
    browser: Browser, live_server: LiveServer, world: World, api: Api, worker_phone: Visit
) -> None:
    resident = desk_visit(browser, live_server, "demo_resident", "/proxy")
    page = resident.page
    expect(page.locator("h1")).to_have_text("我的代办")
    page.locator("#create-card summary").click()
    page.locator("#item-search").fill("老年人优待证办理")
    expect(page.locator("#item-id")).to_have_value(re.compile(r"^\d+$"))
    page.locator("#create-form").get_by_role("button", name="提交").click()
    expect(page.locator(".toast-ok", has_text="已提交代办").last).to_be_visible()
    card = page.locator("#proxy-card")
    expect(card).to_contain_text("老年人优待证办理")
    expect(card).to_contain_text("待接单")
    request_id = card.get_attribute("data-id")
    code = api.get("demo_resident", f"/proxy-requests/{request_id}")["code"]

    app = worker_phone.page
    app.locator(".tab-bar [data-tab=proxy]").click()
    waiting = app.locator(f"#proxy-list li[data-id='{request_id}']")
    expect(waiting).to_contain_text("老年人优待证办理")
    expect(waiting).to_contain_text(code)
    waiting.get_by_role("button", name="接单").click()
    detail = app.locator("#proxy-detail")
    expect(detail).to_contain_text("已接单")
    expect(detail.locator("a[href^='tel:']")).to_have_count(1)  # the worker who took it may call
    detail.get_by_role("button", name="递交").click()
    expect(app.locator(".toast-ok", has_text="已递交").last).to_be_visible()
    app.locator("#proxy-segments [data-segment=mine]").click()
    mine = app.locator(f"#proxy-list li[data-id='{request_id}']")
    expect(mine).to_contain_text("已递交")
    mine.get_by_role("button", name="详情").click()
    detail = app.locator("#proxy-detail")
    detail.locator("textarea[name=result]").fill("优待证已制好,送到老人家中")
    worker_phone.screenshot("worker-proxy")
    detail.get_by_role("button", name="办结").click()
    expect(app.locator(".toast-ok", has_text="已办结").last).to_be_visible()
    worker_phone.assert_clean()

    page.reload()
    row = page.locator(f"#proxy-table tbody tr[data-id='{request_id}']")
    expect(row).to_contain_text("已办结")
    row.click()
    expect(page.locator("#proxy-result")).to_have_text("优待证已制好,送到老人家中")
    trail = page.locator("#proxy-trail li")
    expect(trail).to_have_count(4)
    expect(trail.nth(0)).to_contain_text("提出代办")
    expect(trail.nth(3)).to_contain_text("办结")
    resident.screenshot("proxy-resident")
    resident.assert_clean()
    resident.page.context.close()


def test_the_operator_watches_deadlines(browser: Browser, live_server: LiveServer) -> None:
    operator = desk_visit(browser, live_server, "demo_operator", "/proxy")
    page = operator.page
    expect(page.locator("nav a", has_text="代办")).to_be_visible()
    expect(page.locator("#sum-open")).to_have_text(re.compile(r"^\d+$"))
    page.locator("#filters [name=status]").select_option("done")
    page.locator("#filters").get_by_role("button", name="查询").click()
    rows = page.locator("#proxy-table tbody tr[data-id]")
    expect(rows.first).to_contain_text("已办结")
    expect(page.locator("#export-link")).to_have_attribute("href", re.compile("status=done"))
    rows.first.click()
    expect(page.locator("#proxy-trail li").first).to_contain_text("提出代办")
    operator.screenshot("proxy-operator")
    operator.assert_clean()
    operator.page.context.close()

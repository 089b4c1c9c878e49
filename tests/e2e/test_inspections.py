"""Supervision rounds in Chromium (issue 20, item 4): a member of the demo town's group scores
the town on the round form (on a 390×844 phone), one item not met; the round's page shows the
rectification it became with a green light; once its due time passes on the server's clock and
the tasks' sweep runs, the round's page and 督查整改 show it red. The standard's page shows the
eight aspects. The server runs on a clock of its own, which the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Browser, ViewportSize, expect
from sqlalchemy import select

from fengqiao.clock import Clock, FixedClock
from fengqiao.db import Database
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.sweeper import sweep
from tests.e2e.conftest import LiveServer, desk_visit, open_visit, serve_demo, sign_in

PHONE_390: ViewportSize = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def clock() -> FixedClock:
    return FixedClock(Clock().now())


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, clock: FixedClock) -> Iterator[LiveServer]:
    with serve_demo(tmp_path_factory.mktemp("e2e-inspections"), events=200, clock=clock) as live:
        yield live


def test_a_failed_item_becomes_a_rectification_that_goes_red_when_late(
    browser: Browser, server: LiveServer, clock: FixedClock
) -> None:
    phone = open_visit(browser, server, PHONE_390, has_touch=True, is_mobile=True, locale="zh-CN")
    sign_in(phone, "demo_district_leader", server.settings.demo_password, landing="/map")
    page = phone.page
    page.goto(server.base_url + "/inspections/new")
    expect(page.locator(".sheet-aspect")).to_have_count(8)
    expect(page.locator("#sheet-town option")).to_have_count(1)
    first = page.locator(".sheet-item").nth(6)  # 指挥体系: 指挥室面积
    first.locator(".sheet-result.is-not_met").click()
    first.locator(".sheet-note").fill("指挥室面积不足六十平方米")
    expect(first.locator(".sheet-rectify")).to_be_visible()  # who rectifies, by when
    expect(first.locator(".sheet-owner option").nth(1)).to_be_attached()  # the town's units
    first.locator(".sheet-days").fill("5")
    expect(page.locator("#sheet-score")).to_contain_text("1 个条目将下发整改")
    phone.screenshot("inspection-form-phone")
    page.locator("#sheet-submit").click()
    page.wait_for_url("**/inspections/rounds/*")
    row = page.locator("#round-items tbody tr[data-result=not_met]")
    expect(row).to_have_count(1)
    expect(row.locator(".light")).to_have_text("绿灯")
    code = row.locator("a").inner_text()
    phone.assert_clean()
    page.context.close()

    database = Database(server.settings.database_url)
    try:
        with database.session() as db:
            task = db.scalars(select(TrackedTask).where(TrackedTask.code == code)).one()
            due = task.due_at
        clock.set(due + timedelta(minutes=5))
        counts = sweep(database, clock.now())
        with database.session() as db:
            assert db.scalars(select(TrackedTask.overdue_at).where(TrackedTask.code == code)).one()
    finally:
        database.dispose()
    assert counts

    desk = desk_visit(browser, server, "demo_district_leader", "/map")
    page = desk.page
    page.goto(page.url.split("/map")[0] + "/inspections")
    late = page.locator(f"#rect-table tbody tr[data-code='{code}']")
    expect(late.locator(".light")).to_have_text("红灯")
    expect(page.locator("#summary-table tbody tr")).to_have_count(1)
    desk.screenshot("inspections")
    late.locator("a", has_text="督查记录").click()
    expect(page.locator("#round-items tbody tr[data-result=not_met] .light")).to_have_text("红灯")
    desk.screenshot("inspection-round")
    page.goto(server.base_url + "/standards")
    expect(page.locator("#standard-current .aspect-card")).to_have_count(8)
    expect(page.locator("#version-table tbody tr")).to_have_count(1)
    desk.screenshot("standards")
    desk.assert_clean()


def test_a_town_records_its_self_assessment_on_the_form(
    browser: Browser, server: LiveServer
) -> None:
    desk = desk_visit(browser, server, "demo_operator", "/map")
    page = desk.page
    page.goto(server.base_url + "/inspections/self-assessment")
    expect(page.locator(".sheet-aspect")).to_have_count(8)
    item = page.locator(".sheet-item").nth(18)  # 标识标牌: 指挥室标识
    item.locator(".sheet-result.is-partly").click()
    item.locator(".sheet-evidence").fill("指挥室门牌照片三张")
    expect(page.locator("#sheet-score")).to_have_text("得分 98 分")
    page.locator("button[data-submit='']").click()  # this year's is submitted (demo): final
    expect(page.locator("#sheet-form .form-error")).to_contain_text("自评已提交")
    year = page.locator("#sheet-year")
    year.fill(str(int(year.input_value()) + 1))
    page.locator("button[data-submit='']").click()
    expect(page.locator(".toast-ok")).to_contain_text("自评已保存，得分 98")
    desk.screenshot("self-assessment")
    # Chromium logs the refused save (409) as a failed resource; nothing else may be logged.
    assert all("409" in message for message in desk.errors), desk.errors
    assert desk.foreign_requests == []

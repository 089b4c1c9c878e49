"""年度考核 and 标杆镇街 in Chromium (issue 20, items 5 and 6): the district leader reads last
year's closed assessment (towns, departments, the scheme) and a town's report with its
formula; the town's leader evaluates an agency dispatched to the town; the district leader
confirms this year's benchmark towns and the list shows who confirmed it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.demo.annual import seed_annual
from fengqiao.org.models import Unit
from tests.e2e.conftest import LiveServer, desk_visit

THIS_YEAR = datetime.now(UTC).astimezone(LOCAL_TZ).year
LAST_YEAR = THIS_YEAR - 1


@pytest.fixture(scope="module")
def agency(live_server: LiveServer) -> Iterator[tuple[int, str]]:
    """The demo's annual assessment seeded, and the demo town's law-enforcement squadron."""
    database = Database(live_server.settings.database_url)
    try:
        seed_annual(database=database, now=datetime.now(UTC), settings=live_server.settings)
        with database.session() as db:
            leader = db.scalars(select(User).where(User.username == "demo_leader")).one()
            unit = db.scalars(
                select(Unit).where(Unit.org_unit_id == leader.home_org_id,
                                   Unit.unit_type == "law_enforcement_squadron")
            ).one()  # fmt: skip
            yield unit.id, unit.name
    finally:
        database.dispose()


def test_last_years_assessment_and_a_towns_formula(
    browser: Browser, live_server: LiveServer, agency: tuple[int, str]
) -> None:
    desk = desk_visit(browser, live_server, "demo_district_leader",
                      f"/assessment/annual?year={LAST_YEAR}")  # fmt: skip
    page = desk.page
    town_rows = page.locator("#town-table tbody tr")
    expect(town_rows).to_have_count(1)
    expect(town_rows.first.locator("td").nth(0)).to_have_text("1")
    expect(page.locator("#department-table tbody tr", has_text=agency[1])).to_have_count(1)
    # A ranking reads from first to last (the answer comes in code order), the unranked after.
    ranks = page.locator("#department-table tbody tr td:first-child").all_inner_texts()
    numbers = [int(r) for r in ranks if r != "—"]
    assert len(numbers) > 2 and numbers == sorted(numbers), ranks
    assert ranks[: len(numbers)] == [str(n) for n in numbers], ranks
    expect(page.locator("#scheme-state")).to_contain_text("已封存")
    expect(page.locator("#annual-note")).to_contain_text(f"{LAST_YEAR}年度全年数据")
    desk.screenshot("annual-list")
    town_rows.first.locator("a").click()
    expect(page.locator("#report-formula")).to_contain_text("总分 =（40 × ")
    expect(page.locator("#report-table tbody tr")).to_have_count(6)
    expect(page.locator("#report-table tbody tr", has_text="月度事件考核")).to_contain_text(
        "个月综合得分平均"
    )
    expect(page.locator("#evaluation-form")).to_be_hidden()
    desk.screenshot("annual-town-report")
    desk.assert_clean()
    page.context.close()


def test_a_town_leader_evaluates_an_agency_of_the_town(
    browser: Browser, live_server: LiveServer, agency: tuple[int, str]
) -> None:
    unit_id, name = agency
    desk = desk_visit(browser, live_server, "demo_leader",
                      f"/assessment/annual/departments/{unit_id}?year={THIS_YEAR}")  # fmt: skip
    page = desk.page
    expect(page.locator("#annual-title")).to_contain_text(name)
    form = page.locator("#evaluation-form")
    expect(form).to_be_visible()
    form.locator("input[name=score]").fill("91.5")
    form.locator("input[name=note]").fill("联合执法响应及时<b>加粗</b>")
    form.locator("button[type=submit]").click()
    evaluation = page.locator("#report-table tbody tr", has_text="属地评价")
    expect(evaluation).to_contain_text("91.5")
    expect(page.locator("#report-head")).to_contain_text("联合执法响应及时<b>加粗</b>")
    expect(page.locator("#report-formula")).to_contain_text("60 × 91.5")
    desk.screenshot("annual-department-report")
    desk.assert_clean()
    page.context.close()


def test_the_district_confirms_this_years_benchmark_towns(
    browser: Browser, live_server: LiveServer, agency: tuple[int, str]
) -> None:
    desk = desk_visit(browser, live_server, "demo_district_leader",
                      f"/assessment/benchmarks?year={LAST_YEAR}")  # fmt: skip
    page = desk.page
    expect(page.locator("#confirmed-list li")).to_have_count(1)
    expect(page.locator("#benchmark-list")).to_contain_text("确认于")
    expect(page.locator("#confirm-form")).to_be_hidden()  # last year is closed
    page.goto(f"{live_server.base_url}/assessment/benchmarks?year={THIS_YEAR}")
    expect(page.locator("#benchmark-table tbody tr")).to_have_count(1)
    expect(page.locator("#proposed-list li")).to_have_count(1)
    form = page.locator("#confirm-form")
    form.locator("input[name=note]").fill("区委常委会审定")
    form.locator("button[type=submit]").click()
    expect(page.locator("#confirmed-list li")).to_have_count(1)
    expect(page.locator("#benchmark-list")).to_contain_text("区委常委会审定")
    desk.screenshot("annual-benchmarks")
    desk.assert_clean()
    page.context.close()

"""考核 and 每日通报 in Chromium: a leader sorts the ranking, opens a row's trend, subscribes to
the bulletin and downloads a day's PDF."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import ARTIFACTS, Api, LiveServer, desk_visit

pytestmark = pytest.mark.e2e


def _numbers(texts: list[str]) -> list[float | None]:
    return [None if t == "—" else float(t.rstrip("%")) for t in texts]


def test_the_leader_sorts_the_ranking_and_opens_a_trend(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    visit = desk_visit(browser, live_server, "demo_leader", "/assessment")
    page = visit.page
    expect(page.locator(".main-nav a[data-key=assessment]")).to_have_attribute(
        "aria-current", "page"
    )
    # A town leader's own town, alone.
    rows = page.locator("#assessment-table tbody tr")
    expect(rows).to_have_count(1)
    expect(page.locator("#assessment-table")).to_have_attribute("data-shown", "town -score")
    data = api.get("demo_leader", "/assessment", level="village")
    page.locator(".level-tabs .tab[data-level=village]").click()
    expect(page.locator("#assessment-table")).to_have_attribute("data-shown", "village -score")
    expect(rows).to_have_count(len(data["rows"]))
    # This month so far: said so, and compared with the same days of last month.
    expect(page.locator("#period-note")).to_contain_text("本月未结束")
    expect(page.locator("#period-note")).to_contain_text("与上月同期比较")
    # Sort by closure rate, descending first, then ascending.
    header = page.locator("#assessment-table th[data-key=closure_rate] button")
    header.click()
    expect(page.locator("#assessment-table th[data-key=closure_rate]")).to_have_attribute(
        "aria-sort", "descending"
    )
    expect(page).to_have_url(re.compile(r"sort=-closure_rate"))
    expect(page.locator("#assessment-table")).to_have_attribute(
        "data-shown", "village -closure_rate"
    )
    column = page.locator("#assessment-table tbody td:nth-child(6)")
    values = _numbers(column.all_inner_texts())
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=True) and len(present) > 1
    header.click()
    expect(page.locator("#assessment-table th[data-key=closure_rate]")).to_have_attribute(
        "aria-sort", "ascending"
    )
    expect(page.locator("#assessment-table")).to_have_attribute(
        "data-shown", "village closure_rate"
    )
    ascending = [v for v in _numbers(column.all_inner_texts()) if v is not None]
    assert ascending == sorted(ascending)
    # The first row's trend: twelve months on the chart.
    first = rows.first
    name = first.locator("td:nth-child(2)").inner_text()
    first.locator(".trend-button").click()
    expect(page.locator("#trend-card")).to_be_visible()
    expect(page.locator("#trend-title")).to_contain_text(name)
    expect(page.locator("#trend-chart canvas")).to_have_count(1)
    expect(first).to_have_class(re.compile("is-selected"))
    page.wait_for_timeout(600)  # the chart's entry animation (300 ms)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "assessment.png"), full_page=True)
    # The CSV link follows the table.
    assert "level=village" in (page.locator("#export-link").get_attribute("href") or "")
    visit.assert_clean()
    page.context.close()


def test_the_leader_subscribes_and_downloads_a_days_pdf(
    browser: Browser, live_server: LiveServer, tmp_path: Path
) -> None:
    visit = desk_visit(browser, live_server, "demo_district_leader", "/bulletins")
    page = visit.page
    expect(page.locator("#bulletin-table tbody tr")).to_have_count(30)
    expect(page.locator("#subscription-state")).to_contain_text("未订阅")
    page.locator("#subscription input[value=email]").check()
    page.locator("#subscribe").click()
    expect(page.locator("#subscription-state")).to_contain_text("已订阅（站内消息、邮件）")
    expect(page.locator("#unsubscribe")).to_be_visible()
    yesterday = page.locator("#bulletin-table tbody tr").nth(1)
    day = yesterday.get_attribute("data-day")
    with page.expect_download() as download_info:
        yesterday.locator("a.pdf-link").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    assert download.suggested_filename == f"bulletin-{day}.pdf"
    assert target.read_bytes().startswith(b"%PDF")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "bulletin-e2e.pdf").write_bytes(target.read_bytes())
    visit.screenshot("bulletins")
    # The HTML twin opens in a tab with the day's figures.
    with page.context.expect_page() as tab_info:
        yesterday.locator("td:nth-child(4) a").click()
    tab = tab_info.value
    tab.wait_for_load_state()
    expect(tab.locator("h1")).to_contain_text("每日通报")
    expect(tab.locator("#totals")).to_contain_text("新增事件")
    tab.screenshot(path=str(ARTIFACTS / "bulletin-html.png"), full_page=True)
    page.locator("#unsubscribe").click()
    expect(page.locator("#subscription-state")).to_contain_text("未订阅")
    visit.assert_clean()
    page.context.close()

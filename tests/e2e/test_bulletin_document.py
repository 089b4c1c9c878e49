"""The daily bulletin as an official document, and charts that say what they are, in Chromium
(issue 17, items 4 and 5): the 每日通报 page lists each issued day's 文号 and opens the document
(issuing unit, 文号, the area's own heading, narrative, 超期清单); an exported chart picture
has its title, area and range drawn above the chart; a rate chart leads with a rate."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from PIL import Image
from playwright.sync_api import Browser, expect

from fengqiao.assessment import bulletin
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from tests.e2e.conftest import ARTIFACTS, LiveServer, desk_visit

NUMBER = re.compile(r"柯综指通〔\d{4}〕\d+号")


def _issue_yesterday(live_server: LiveServer) -> str:
    """Yesterday's bulletins as the morning job issues them (the served app runs no worker);
    the day, relative to the server's clock."""
    now = datetime.now(LOCAL_TZ)
    day = now.date() - timedelta(days=1)
    database = Database(live_server.settings.database_url)
    try:
        with database.transaction() as db:
            _content, stored = bulletin.content_for(
                db, day=day, now=now, settings=live_server.settings
            )
            if stored is None:
                bulletin.publish(db, day=day, now=now, settings=live_server.settings)
    finally:
        database.dispose()
    return day.isoformat()


def test_the_bulletin_page_lists_numbers_and_opens_the_document(
    browser: Browser, live_server: LiveServer
) -> None:
    day = _issue_yesterday(live_server)
    visit = desk_visit(browser, live_server, "demo_district_leader", "/bulletins")
    page = visit.page
    expect(page.locator("#bulletin-table[data-loaded='true']")).to_be_attached()
    row = page.locator(f"#bulletin-table tbody tr[data-day='{day}']")
    expect(row.locator(".doc-number")).to_have_text(NUMBER)
    today = page.locator("#bulletin-table tbody tr").first
    expect(today).to_contain_text("未签发")
    visit.screenshot("bulletins-numbered")
    with page.context.expect_page() as tab_info:
        row.locator("a.html-link").click()
    document = tab_info.value
    document.wait_for_load_state()
    expect(document.locator("#issuer")).to_have_text("柯桥区综合信息指挥中心")
    expect(document.locator("#doc-number")).to_have_text(NUMBER)
    expect(document.locator("#summary")).to_have_text("一、柯桥区概况")
    expect(document.locator("#narrative")).to_contain_text("新增事件")
    expect(document.locator("#overdue")).to_contain_text("三、超期清单（本月超期")
    expect(document.locator("#signature")).to_contain_text("柯桥区综合信息指挥中心")
    expect(document.locator("body")).not_to_contain_text("红榜")
    # A wide tab shows the whole document as a reader prints it.
    document.set_viewport_size({"width": 1100, "height": 900})
    document.screenshot(path=str(ARTIFACTS / "bulletin-document.png"), full_page=True)
    visit.assert_clean()
    page.context.close()

    # A town's leader reads the town's own bulletin, numbered by the town.
    town = desk_visit(browser, live_server, "demo_leader", "/bulletins")
    expect(town.page.locator(f"tr[data-day='{day}'] .doc-number")).to_have_text(
        re.compile(r"柯桥综指通〔\d{4}〕\d+号")
    )
    with town.page.context.expect_page() as tab_info:
        town.page.locator(f"tr[data-day='{day}'] a.html-link").click()
    expect(tab_info.value.locator("#summary")).to_have_text("一、柯桥街道概况")
    town.assert_clean()
    town.page.context.close()


def _png(data: bytes) -> Image.Image:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return Image.open(io.BytesIO(data)).convert("L")


def _dark_pixels(picture: Image.Image, top: int, bottom: int) -> int:
    band = picture.crop((0, top, picture.width, bottom))
    return sum(band.histogram()[:128])


def test_an_exported_chart_carries_its_title_area_and_range(
    browser: Browser, live_server: LiveServer
) -> None:
    visit = desk_visit(browser, live_server, "demo_district_leader", "/analytics")
    page = visit.page
    expect(page.locator("#analytics[data-ready='true']")).to_be_attached(timeout=20000)
    card = page.locator("[data-chart='on_time_trend']")
    # A rate chart leads with the rate, and compares in percentage points (or says it cannot).
    compare = card.locator(".chart-compare")
    expect(compare.locator(".headline")).to_have_text(re.compile(r"^按期结案率 (\d+\.\d%|—)$"))
    expect(compare.locator("[data-period='mom']")).to_have_text(
        re.compile(r"^环比 ([+-]\d+\.\d个百分点|持平|无可比数据)$")
    )
    # 同比: the demo's history is a year long at most; a missing year says so.
    expect(compare.locator("[data-period='yoy']")).to_contain_text("同比 ")
    page.locator("[data-chart='daily_new_closed']").scroll_into_view_if_needed()
    visit.screenshot("analytics-headlines")
    params = page.evaluate("Object.fromEntries(new URLSearchParams(location.search))")
    box = card.locator(".chart-body").bounding_box()
    assert box is not None
    with page.expect_download() as download:
        card.locator(".png-link").click()
    assert download.value.suggested_filename == (
        f"on_time_trend-{params['from']}-{params['to']}.png"
    )
    data = download.value.path().read_bytes()
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "chart-export.png").write_bytes(data)
    picture = _png(data)
    # The chart at twice its size, with a header (title, area, range, headline) above it and a
    # footer below: taller than the bare chart, and the header holds dark text.
    assert abs(picture.width - 2 * box["width"]) <= 2
    header = picture.height - round(2 * box["height"]) - 60
    assert header >= 120, (picture.size, box)
    assert _dark_pixels(picture, 0, header) > 500
    # The grid map (Leaflet, not ECharts) exports its picture the same way.
    with page.expect_download() as grid_download:
        page.locator("[data-chart='grid_map'] .png-link").click()
    grid_picture = _png(grid_download.value.path().read_bytes())
    assert _dark_pixels(grid_picture, 0, 100) > 300
    visit.assert_clean()
    page.context.close()

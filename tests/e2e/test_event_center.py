"""The event center in Chromium for someone who processes hundreds of events a day: a column
head sorts (and a reload keeps the order), a batch 受理 says per event what happened, the
keyboard works the queue (j/k, x, a, Enter) and moves on after a step, and a printed event is
an A4 document without the site's navigation."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote_plus

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.conftest import ARTIFACTS, JPEG_PHOTO, Api, LiveServer, Visit, World, desk_visit

pytestmark = pytest.mark.e2e


def _file_marked(api: Api, world: World, count: int) -> tuple[str, list[dict[str, Any]]]:
    """`count` new reported events whose descriptions share a marker (a query finds just them)."""
    marker = f"批量测试{uuid.uuid4().hex[:6]}"
    events = [
        api.file(world, description=f"{marker} 第{index + 1}件：小区门口有人占道经营，影响通行")
        for index in range(count)
    ]
    return marker, events


def _rows(page: Page) -> list[str]:
    return page.locator("#events-table tbody tr[data-id]").evaluate_all(
        "rows => rows.map(r => r.dataset.id)"
    )


def _wait_for_query(page: Page, part: str) -> None:
    """Until the rows shown answer a query holding `part` (as the address encodes it)."""
    encoded = quote_plus(part, safe="=,-")
    page.locator(f"#events-table tbody[data-query*='{encoded}']").wait_for(state="attached")


@pytest.fixture
def operator_desk(browser: Browser, live_server: LiveServer) -> Any:
    opened = desk_visit(browser, live_server, "demo_operator", "/events")
    yield opened
    opened.page.context.close()


def test_a_column_head_sorts_the_list_and_a_reload_keeps_the_order(
    operator_desk: Visit, api: Api
) -> None:
    page = operator_desk.page
    page.locator("#events-table tbody tr[data-id]").first.wait_for()
    head = page.locator("#events-table th[data-sort='category']")
    head.get_by_role("button").click()
    _wait_for_query(page, "sort=category")
    expect(head).to_have_attribute("aria-sort", "ascending")
    expect(head.locator(".sort-arrow")).to_have_text("↑")
    expected = api.get("demo_operator", "/events", sort="category", size=50)["items"]
    assert _rows(page) == [str(e["id"]) for e in expected]
    head.get_by_role("button").click()
    _wait_for_query(page, "sort=-category")
    expect(head).to_have_attribute("aria-sort", "descending")
    assert "sort=-category" in page.url
    page.reload()
    _wait_for_query(page, "sort=-category")
    expect(page.locator("#events-table th[data-sort='category']")).to_have_attribute(
        "aria-sort", "descending"
    )
    expected = api.get("demo_operator", "/events", sort="-category", size=50)["items"]
    assert _rows(page) == [str(e["id"]) for e in expected]
    # The description column shows the start of the text, the whole text in its tooltip.
    first = page.locator("#events-table tbody tr[data-id] .description-cell").first
    assert first.get_attribute("title") == (expected[0]["description"] or expected[0]["title"])
    operator_desk.screenshot("events-sorted")
    operator_desk.assert_clean()


def test_a_batch_accept_reports_each_event(operator_desk: Visit, api: Api, world: World) -> None:
    marker, events = _file_marked(api, world, 3)
    page = operator_desk.page
    page.goto(f"{operator_desk.base_url}/events?q={marker}&sort=created_at")
    _wait_for_query(page, marker)
    expect(page.locator("#events-table tbody tr[data-id]")).to_have_count(3)
    page.locator("#select-page").check()
    expect(page.locator("#batch-count")).to_have_text("已选 3 件")
    # Meanwhile someone else accepts the second one: the batch holds an older version of it.
    api.act(events[1], "demo_operator", "accept")
    page.locator("#batch-accept").click()
    lines = page.locator("#batch-results-list li")
    expect(lines).to_have_count(3)
    expect(page.locator("#batch-results-head")).to_have_text("受理：成功 2 件，未成功 1 件")
    expect(lines.nth(0)).to_contain_text(events[0]["code"])
    expect(lines.nth(0)).to_contain_text("已受理")
    expect(lines.nth(1)).to_contain_text("未受理")
    expect(page.locator(f"tr[data-id='{events[0]['id']}'] .status")).to_have_text("已受理")
    expect(page.locator(f"tr[data-id='{events[1]['id']}'] .row-select")).to_be_checked()
    # The refused row shows the event as it now is (accepted by the other person).
    expect(page.locator(f"tr[data-id='{events[1]['id']}'] .status")).to_have_text("已受理")
    operator_desk.screenshot("events-batch-accept")
    operator_desk.assert_clean()


def test_a_batch_supervision_orders_each_dispatched_event_and_exports_the_selection(
    operator_desk: Visit, api: Api, world: World
) -> None:
    marker, events = _file_marked(api, world, 3)
    for event in events[:2]:  # the third stays unaccepted: no unit to supervise
        api.act(event, "demo_operator", "accept")
        api.act(event, "demo_operator", "dispatch")
    page = operator_desk.page
    page.goto(f"{operator_desk.base_url}/events?q={marker}&sort=created_at")
    _wait_for_query(page, marker)
    expect(page.locator("#events-table tbody tr[data-id]")).to_have_count(3)
    page.locator("#select-page").check()
    # 导出 takes exactly the selected rows, in the list's order.
    href = page.locator("#batch-export").get_attribute("href")
    assert href and "ids=" in href
    csv = page.request.get(operator_desk.base_url + href)
    assert csv.ok, csv.status
    body = csv.text()
    assert [line for line in body.splitlines()[1:] if line] and all(
        e["code"] in body for e in events
    )
    assert len([line for line in body.splitlines()[1:] if line.strip()]) == 3
    page.locator("#batch-supervise").click()
    form = page.locator("#supervise-form")
    expect(form).to_be_visible()
    expect(page.locator("#supervise-count")).to_have_text("共 3 件")
    form.locator("[name=requirement]").fill("请三日内处置到位并回复")
    form.locator("[type=submit]").click()
    expect(page.locator("#batch-results-head")).to_have_text("督办：成功 2 件，未成功 1 件")
    lines = page.locator("#batch-results-list li")
    expect(lines).to_have_count(3)
    expect(lines.nth(0)).to_contain_text("已督办，督办单 DB-")
    expect(lines.nth(2)).to_contain_text("尚未交办责任单位")
    for event in events[:2]:
        expect(page.locator(f"tr[data-id='{event['id']}'] .badge-supervised")).to_be_visible()
    expect(page.locator(f"tr[data-id='{events[2]['id']}'] .badge-supervised")).to_have_count(0)
    rows = api.get("demo_operator", "/events", q=marker, size=10)["items"]
    assert sorted(e["id"] for e in rows if e["supervised"]) == sorted(e["id"] for e in events[:2])
    operator_desk.screenshot("events-batch-supervise")
    # The one refusal is the browser's console line for the 409 the form reported.
    assert operator_desk.errors == [
        "Failed to load resource: the server responded with a status of 409 (Conflict)"
    ]
    assert operator_desk.foreign_requests == []


def test_the_keyboard_works_the_queue_and_moves_on_after_a_step(
    operator_desk: Visit, api: Api, world: World
) -> None:
    marker, events = _file_marked(api, world, 3)
    page = operator_desk.page
    page.goto(f"{operator_desk.base_url}/events?q={marker}&sort=created_at")
    _wait_for_query(page, marker)
    expect(page.locator("#events-table tbody tr[data-id]")).to_have_count(3)
    current = page.locator("#events-table tr.is-current")
    page.locator("body").press("j")
    expect(current).to_have_attribute("data-id", str(events[0]["id"]))
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("k")
    expect(current).to_have_attribute("data-id", str(events[1]["id"]))
    # Typing a j into a field is typing, not moving.
    page.locator("#filters [name=q]").press("j")
    expect(current).to_have_attribute("data-id", str(events[1]["id"]))
    page.locator("#filters [name=q]").fill(marker)
    page.locator("#filters [name=q]").evaluate("field => field.blur()")
    page.keyboard.press("x")
    expect(page.locator(f"tr[data-id='{events[1]['id']}'] .row-select")).to_be_checked()
    page.keyboard.press("a")  # 受理, then the next in the queue is the current row
    expect(page.locator(f"tr[data-id='{events[1]['id']}'] .status")).to_have_text("已受理")
    expect(current).to_have_attribute("data-id", str(events[2]["id"]))
    expect(page.locator("#batch-results-list li")).to_contain_text("已受理")
    page.keyboard.press("k")
    page.keyboard.press("d")  # 交办 to the proposed unit
    expect(page.locator(f"tr[data-id='{events[1]['id']}'] .status")).to_have_text("已交办")
    expect(current).to_have_attribute("data-id", str(events[2]["id"]))
    assert api.get("demo_operator", f"/events/{events[1]['id']}")["status"] == "dispatched"
    operator_desk.screenshot("events-keyboard")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/events/{events[2]['id']}")
    operator_desk.assert_clean()


def test_a_printed_event_is_a_document_without_navigation(
    operator_desk: Visit, api: Api, world: World
) -> None:
    event = api.file(world, description="桥下堆放建筑垃圾，需清运")
    api.post(
        "demo_grid_worker", f"/events/{event['id']}/attachments", expect=201,
        files=[("photos", ("scene.jpg", JPEG_PHOTO, "image/jpeg"))],
    )  # fmt: skip
    api.act(event, "demo_operator", "accept")
    api.act(event, "demo_operator", "dispatch")
    trail = api.get("demo_operator", f"/events/{event['id']}")["trail"]
    page = operator_desk.page
    page.set_viewport_size({"width": 794, "height": 1123})  # A4 at 96 dpi
    page.goto(f"{operator_desk.base_url}/events/{event['id']}")
    expect(page.locator("#event-trail li")).to_have_count(len(trail))
    expect(page.locator("#print-event")).to_be_visible()
    page.emulate_media(media="print")
    page.evaluate("window.dispatchEvent(new Event('beforeprint'))")
    for hidden in (".site-header", ".main-nav", ".site-footer", "#print-event", "#event-page aside",
                   "#event-map", "#event-page .page-head a"):  # fmt: skip
        expect(page.locator(hidden).first).to_be_hidden()
    expect(page.locator(".print-head")).to_be_visible()
    expect(page.locator("#printed-at")).to_contain_text("打印时间")
    expect(page.locator("#event-facts")).to_be_visible()
    expect(page.locator("#event-trail li")).to_have_count(len(trail))
    expect(page.locator("#event-trail li").last).to_be_visible()
    photo = page.locator("#event-photos a").first
    expect(photo).to_be_visible()
    caption = photo.evaluate("a => getComputedStyle(a, '::after').content")
    assert re.search(r"[\u4e00-\u9fff]", caption), caption  # the photo's kind, in words
    assert photo.locator("img").evaluate("img => img.complete && img.naturalWidth > 0")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "event-print.png"), full_page=True)
    # The page's own @page rule sets the paper: A4 (595 × 842 points).
    pdf = page.pdf(prefer_css_page_size=True, print_background=True)
    (ARTIFACTS / "event-print.pdf").write_bytes(pdf)
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)\s*\]", pdf)
    assert boxes and all(
        abs(float(w) - 595.3) < 1.5 and abs(float(h) - 841.9) < 1.5 for w, h in boxes
    ), boxes
    operator_desk.assert_clean()

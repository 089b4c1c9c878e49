"""我的上报 on a phone (issue 19, item 2): a resident follows their report round the loop (the
staff steps driven through the API, the photo marked 公开给上报人 on the event page), sees each
public step and the before/after photos, and rates it with four stars and a comment."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

import httpx
from playwright.sync_api import Browser, Page, ViewportSize, expect

from fengqiao.db import Database
from fengqiao.worker import run_once
from tests.e2e.conftest import (
    ARTIFACTS,
    JPEG_PHOTO,
    Api,
    LiveServer,
    desk_visit,
    open_visit,
    sign_in,
)
from tests.e2e.test_language_walk import Walk
from tests.events.conftest import World, jpeg

PHONE_390: ViewportSize = {"width": 390, "height": 844}
RESIDENT = "demo_resident"


def _file(api: Api, world: World) -> dict[str, Any]:
    lat, lng = world.grid_point
    body = {"source": "resident", "category": world.handler_category, "lat": str(lat),
            "lng": str(lng), "description": "楼下路灯坏了，晚上很黑", "address": "柯桥街道某路8号"}  # fmt: skip
    photo = ("photos", ("before.jpg", jpeg("red", (320, 240)), "image/jpeg"))
    created: dict[str, Any] = api.post(RESIDENT, "/events", expect=201, data=body, files=[photo])
    return created


def _upload(api: Api, event_id: int, user: str, kind: str, **form: str) -> int:
    photo = ("photos", (f"{kind}.jpg", JPEG_PHOTO, "image/jpeg"))
    stored = api.post(user, f"/events/{event_id}/attachments?kind={kind}", expect=201,
                      files=[photo], data=form)  # fmt: skip
    return int(stored[0]["id"])


def _no_sideways_scroll(page: Page) -> None:
    wide = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert wide <= 0, f"the page scrolls sideways by {wide}px"


def _whole(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def _speaks_chinese(page: Page) -> None:
    """No Latin word and no half-width punctuation beside Chinese (the language walk's rule)."""
    walk = Walk(frozenset({RESIDENT}))
    walk.read(page, RESIDENT)
    assert not walk.report(), walk.report()


def _timeline(page: Page) -> list[str]:
    return page.locator("#r-timeline .r-step-words").all_inner_texts()


def test_a_signed_out_visitor_is_sent_to_sign_in(live_server: LiveServer) -> None:
    for path in ("/r/reports", "/r/reports/X-1"):
        response = httpx.get(live_server.base_url + path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/r/login?next=" + quote(path, safe="")


def test_a_resident_follows_a_report_round_the_loop_and_rates_it(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    event = _file(api, world)
    code, event_id = event["code"], event["id"]
    phone = open_visit(browser, live_server, PHONE_390, locale="zh-CN", has_touch=True,
                       is_mobile=True)  # fmt: skip
    handler = None
    try:
        sign_in(phone, RESIDENT, live_server.settings.demo_password, landing="/r/reports")
        page = phone.page
        expect(page.locator("#r-reports[data-state=ready]")).to_be_visible()
        mine = page.locator(f"a.r-report-item[href='/r/reports/{code}']")
        expect(mine).to_contain_text("楼下路灯坏了")
        expect(mine).to_contain_text("已提交")
        _no_sideways_scroll(page)
        _speaks_chinese(page)
        phone.screenshot("resident-reports-list")

        mine.click()
        expect(page.locator("#r-reports[data-state=ready]")).to_be_visible()
        assert _timeline(page) == ["已提交"]
        facts = page.locator("#r-facts")
        expect(facts).to_contain_text("预计办结")
        expect(facts).to_contain_text("柯桥街道某路8号")
        assert "object" not in facts.inner_text()
        expect(page.locator("#r-rating")).to_contain_text("办理完毕后")

        # The staff steps, through the API; the resident's page shows each public one.
        api.act(event, "demo_operator", "accept")
        page.reload()
        expect(page.locator("#r-timeline .r-step-words")).to_have_text(["已提交", "已受理"])
        dispatched = api.act(event, "demo_operator", "dispatch")
        unit = dispatched["owner_unit"]["name"]
        api.act(event, "demo_handler", "sign")  # stays inside: not a public step
        after = _upload(api, event_id, "demo_handler", "after")
        api.act(event, "demo_handler", "feedback", result="已更换灯泡", attachment_ids=[after])
        page.reload()
        expect(page.locator("#r-timeline .r-step-words")).to_have_text(
            ["已提交", "已受理", f"交办至{unit}", "处置完成，待核查"]
        )
        # Not yet public: only the resident's own photo, on the 处理前 side.
        expect(page.locator("#r-photos [data-side=before] img")).to_have_count(1)
        expect(page.locator("#r-photos [data-side=after] img")).to_have_count(0)

        # The handler marks the result photo 公开给上报人 on the event page.
        handler = desk_visit(browser, live_server, "demo_handler", f"/events/{event_id}")
        switch = handler.page.locator(f".photo-public[data-photo='{after}']")
        expect(switch).not_to_be_checked()
        switch.check()
        expect(handler.page.locator(".toast", has_text="已公开给上报人").last).to_be_visible()
        expect(handler.page.locator(f".photo-public[data-photo='{after}']")).to_be_checked()
        expect(handler.page.locator(f".photo-public[data-photo='{after}']")).to_be_enabled()
        handler.screenshot("event-photo-public")
        handler.assert_clean()

        # The grid worker verifies on site; the report is finished.
        now = datetime.now(UTC).isoformat()
        lat, lng = str(event["lat"]), str(event["lng"])
        verify = _upload(api, event_id, "demo_grid_worker", "verify", origin="camera",
                         device_lat=lat, device_lng=lng, device_accuracy="10", device_at=now)  # fmt: skip
        api.act(event, "demo_grid_worker", "verify", ok=True, confirmed=True,
                attachment_ids=[verify])  # fmt: skip
        page.reload()
        expect(page.locator("#r-timeline .r-step-words")).to_have_text(
            ["已提交", "已受理", f"交办至{unit}", "处置完成，待核查", "已核查结案"]
        )
        expect(page.locator(".r-head .r-status")).to_have_text("已解决")
        expect(page.locator("#r-facts")).to_contain_text("办结时间")
        expect(page.locator("#r-photos [data-side=before] img")).to_have_count(1)
        expect(page.locator("#r-photos [data-side=after] img")).to_have_count(1)
        for image in page.locator("#r-photos img").all():  # each photo loads (not only its tag)
            page.wait_for_function(
                "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
            )
        text = page.locator("#r-main").inner_text()
        handler_name = api.get("demo_handler", "/users/me")["name"]
        assert handler_name not in text and "已更换灯泡" not in text
        assert "事件" not in text and "工单" not in text and "处置人员" not in text
        _no_sideways_scroll(page)
        _whole(page, "resident-report-closed")

        # Four stars and a comment; the rating then shows on the report.
        page.locator("#r-rating .r-star[data-stars='4']").click()
        page.locator("#r-rating textarea[name=comment]").fill("修得很快，谢谢！")
        page.locator("#r-rating").scroll_into_view_if_needed()
        _speaks_chinese(page)
        phone.screenshot("resident-report-rating-form")
        page.get_by_role("button", name="提交评价").click()
        rated = page.locator("#r-rating")
        expect(rated).to_contain_text("您的评价")
        expect(rated).to_contain_text("修得很快，谢谢！")
        expect(rated.locator(".r-stars")).to_have_attribute("aria-label", "4星")
        page.reload()
        expect(page.locator("#r-rating")).to_contain_text("修得很快，谢谢！")
        _whole(page, "resident-report-rated")
        assert api.get("demo_operator", f"/events/{event_id}")["satisfaction"] == 4
        _no_sideways_scroll(page)
        _speaks_chinese(page)

        # 通知 holds the resident's messages: each public step, newest first; a tap opens it.
        # The worker delivers what the steps queued (the app inbox is one of its channels).
        database = Database(live_server.settings.database_url)
        run_once(database, live_server.settings, datetime.now(UTC), names=["outbox"])
        database.dispose()
        page.locator(".r-tabs a[href='/r/notices']").click()
        inbox = page.locator(f"#r-message-list li:has(a[href='/r/reports/{code}'])")
        expect(inbox.first).to_be_visible()
        words = " ".join(inbox.all_inner_texts())
        assert f"交办至{unit}" in words and "处置完成，待核查" in words, words
        _no_sideways_scroll(page)
        _speaks_chinese(page)
        phone.screenshot("resident-messages")
        with page.expect_navigation():
            inbox.first.locator("a").click()
        assert page.url.endswith(f"/r/reports/{code}")
        phone.assert_clean()
    finally:
        phone.page.context.close()
        if handler is not None:
            handler.page.context.close()

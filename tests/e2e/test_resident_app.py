"""The residents' app (/r/) in Chromium on a 390×844 phone (issue 19, items 1 and 3): a new
resident signs in with the code read from the outbox, files a 随手拍 with a photo and a dragged
point and sees the receipt with the code; a report filed offline is queued and sent when the
network is back; the nearby reports are offered and 我也遇到 counts the resident on one."""

from __future__ import annotations

import itertools
import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, ViewportSize, expect
from sqlalchemy import select

from fengqiao.db import Database
from fengqiao.events.models import Attachment, Event
from fengqiao.outbox.models import Outbox
from tests.e2e.conftest import (
    JPEG_PHOTO,
    Api,
    LiveServer,
    Visit,
    desk_visit,
    open_visit,
    phone_context_options,
)
from tests.events.conftest import World

PHONE_390: ViewportSize = {"width": 390, "height": 844}
CODE = re.compile(r"^\d{3}-\d{8}-\d{4}$")
# A fresh number per test and run (each number may ask for one code a minute).
_NUMBERS = itertools.count(int(time.time()) % 10_000_000)


def new_number() -> str:
    return f"1{next(_NUMBERS) % 10_000_000 + 5_810_000_000:010d}"


def read_db(server: LiveServer) -> Database:
    return Database(server.settings.database_url)


def code_from_outbox(server: LiveServer, phone: str) -> str:
    """The code the SMS gateway would deliver: the newest sign-in message queued for `phone`."""
    database = read_db(server)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with database.session() as db:
                row = db.scalars(
                    select(Outbox)
                    .where(Outbox.template == "sms_code", Outbox.recipient == phone)
                    .order_by(Outbox.id.desc())
                ).first()
                if row is not None:
                    return str(row.payload["code"])
            time.sleep(0.1)
        raise AssertionError(f"no code queued for {phone}")
    finally:
        database.dispose()


def resident_signs_in(visit: Visit, server: LiveServer, phone: str) -> None:
    """Open /r/ signed out, ask for a code, read it from the outbox, enter it: back on /r/."""
    page = visit.page
    page.goto(f"{server.base_url}/r/")
    expect(page).to_have_url(re.compile(r"/r/login\?next=%2Fr%2F"))
    page.fill("#r-phone", phone)
    page.click("#r-send")
    expect(page.locator("#r-sent")).to_contain_text(phone[:3] + "****" + phone[-4:])
    visit.screenshot("resident-login-code")
    assert phone not in page.locator("body").inner_text()  # shown masked only
    page.fill("#r-code", code_from_outbox(server, phone))
    page.click("#r-verify")
    expect(page).to_have_url(f"{server.base_url}/r/")
    expect(page.locator("#r-majors .r-chip").first).to_be_visible()


@pytest.fixture
def resident(browser: Browser, live_server: LiveServer, world: World) -> Iterator[Visit]:
    """A 390 px phone standing in demo_grid_worker's grid, signed out."""
    opened = open_visit(browser, live_server, PHONE_390, **phone_context_options(world))
    yield opened
    opened.page.context.close()


def pick_class(visit: Visit, code: str) -> None:
    page = visit.page
    page.click(f"#r-majors [data-code='{code[:2]}']")
    page.click(f"#r-minors [data-code='{code}']")
    expect(page.locator(f"#r-minors [data-code='{code}']")).to_have_attribute(
        "aria-checked", "true"
    )


def locate_me(visit: Visit) -> None:
    page = visit.page
    page.click("#r-locate")
    expect(page.locator("#r-place")).to_contain_text("网格")
    expect(page.locator("#r-map .leaflet-marker-icon")).to_be_visible()


def no_horizontal_scroll(visit: Visit) -> None:
    width = visit.page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= PHONE_390["width"], f"the page is {width} px wide"


def event_of(server: LiveServer, code: str) -> tuple[Event, int]:
    database = read_db(server)
    try:
        with database.session() as db:
            event = db.scalars(select(Event).where(Event.code == code)).one()
            photos = len(
                db.scalars(select(Attachment).where(Attachment.event_id == event.id)).all()
            )
            db.expunge(event)
            return event, photos
    finally:
        database.dispose()


def test_a_new_resident_signs_in_by_code_and_files_with_a_photo_and_a_dragged_point(
    resident: Visit, live_server: LiveServer, world: World
) -> None:
    page = resident.page
    resident_signs_in(resident, live_server, new_number())
    # Residents see their four tabs, never the staff navigation.
    expect(page.locator(".r-tabs a")).to_have_count(4)
    assert page.locator(".site-header, nav.main-nav").count() == 0
    pick_class(resident, world.handler_category)
    photo: FilePayload = {"name": "现场.jpg", "mimeType": "image/jpeg", "buffer": JPEG_PHOTO}
    page.set_input_files("#r-album", files=[photo])
    expect(page.locator("#r-thumbs img")).to_have_count(1)
    locate_me(resident)
    # Drag the marker a little to where the problem really is.
    icon = page.locator("#r-map .leaflet-marker-icon")
    icon.scroll_into_view_if_needed()
    box = icon.bounding_box()
    assert box is not None
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] - 4
    page.mouse.move(x, y)
    page.mouse.down()
    page.mouse.move(x + 20, y + 12, steps=8)
    page.mouse.up()
    expect(page.locator("#r-place")).to_contain_text("网格")
    page.fill("#r-description", "小区门口人行道被占用，行人只能走机动车道")
    no_horizontal_scroll(resident)
    resident.screenshot("resident-report-form")
    page.evaluate("() => window.scrollTo(0, 0)")
    resident.screenshot("resident-report-top")
    page.click("#r-submit")
    expect(page.locator("#r-receipt")).to_be_visible()
    code = page.locator("#r-receipt-code").inner_text()
    assert CODE.match(code), code
    resident.screenshot("resident-receipt")
    no_horizontal_scroll(resident)
    event, photos = event_of(live_server, code)
    assert event.source == "resident" and event.category_code == world.handler_category
    assert photos == 1 and "人行道" in event.description
    lat, lng = world.grid_point
    assert (round(event.lat, 6), round(event.lng, 6)) != (round(lat, 6), round(lng, 6)), "dragged"
    resident.assert_clean()


def test_a_report_filed_offline_is_queued_and_sent_when_back_online(
    resident: Visit, live_server: LiveServer, world: World
) -> None:
    page = resident.page
    resident_signs_in(resident, live_server, new_number())
    pick_class(resident, world.other_category)
    locate_me(resident)
    page.context.set_offline(True)
    page.fill("#r-description", "路灯不亮，晚上很黑")
    page.click("#r-submit")
    expect(page.locator("#r-receipt")).to_be_visible()
    expect(page.locator("#r-receipt-code")).to_have_text("待发送")
    expect(page.locator("#r-queue-count")).to_have_text("1")
    resident.screenshot("resident-offline-queued")
    no_horizontal_scroll(resident)
    page.context.set_offline(False)
    expect(page.locator("#r-queue")).to_be_hidden(timeout=20_000)
    # The receipt still open gets the code the report was filed under.
    expect(page.locator("#r-receipt-code")).to_have_text(CODE)
    code = page.locator("#r-receipt-code").inner_text()
    resident.screenshot("resident-offline-sent")
    event, _ = event_of(live_server, code)
    assert event.description == "路灯不亮，晚上很黑" and event.source == "resident"
    # Console errors while offline are the browser's own failed fetches; none after.
    resident.errors.clear()
    page.reload()
    expect(page.locator("#r-majors .r-chip").first).to_be_visible()
    resident.assert_clean()


def test_nearby_reports_are_offered_and_me_too_counts_the_resident(
    resident: Visit, live_server: LiveServer, world: World, api: Api, browser: Browser
) -> None:
    lat, lng = world.grid_point
    # A class no other browser test files in (they share this server and file at the same
    # point): the ten nearest offered are then this test's own.
    shared = {world.handler_category, world.other_category}
    classes = httpx.get(f"{live_server.base_url}/api/v1/public/report-classes", timeout=30)
    category = next(c["code"] for c in reversed(classes.json()["categories"])
                    if c["code"] not in shared)  # fmt: skip
    filed: dict[str, Any] = api.post(
        "demo_resident", "/events", expect=201,
        json={"source": "resident", "category": category, "lat": lat + 0.0002,
              "lng": lng, "description": "门口垃圾堆积"},
    )  # fmt: skip
    page = resident.page
    resident_signs_in(resident, live_server, new_number())
    pick_class(resident, category)
    locate_me(resident)
    item = page.locator(f"#r-nearby-list li[data-code='{filed['code']}']")
    expect(item).to_be_visible()
    expect(item).to_contain_text("约 ")
    expect(item).to_contain_text("0 人也遇到")
    no_horizontal_scroll(resident)
    resident.screenshot("resident-nearby")
    item.locator("button", has_text="我也遇到").click()
    expect(item).to_contain_text("1 人也遇到")
    expect(item.locator("button")).to_have_text("已在其中")
    expect(item.locator("button")).to_be_disabled()
    resident.screenshot("resident-me-too")
    # Staff see the count on the event page.
    desk = desk_visit(browser, live_server, "demo_operator", f"/events/{filed['id']}")
    try:
        expect(desk.page.locator("#event-me-too")).to_have_text("1 位群众")
    finally:
        desk.page.context.close()
    resident.assert_clean()

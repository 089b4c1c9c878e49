"""Alarms that cannot be missed, in Chromium (issue 17, item 3): one live stream per browser
shared by every tab, so ten open pages leave room for an eleventh; an alarm opens a dialog on
every command-room page of its area that neither Esc nor a click beside it closes; 接警 in one
tab closes it in every tab and on every other screen and is on the trail; the sound's switch
and its shipped file."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.conftest import Api, LiveServer, World, desk_visit

pytestmark = pytest.mark.e2e

READY = "#alarm-dialog[data-state=ready]"  # alarm.js asked the server once


def dialog_item(page: Page, event_id: int) -> Locator:
    return page.locator(f"#alarm-dialog .alarm-item[data-id='{event_id}']")


def wait_for_mode(page: Page, mode: str, timeout: float = 30.0) -> None:
    """Wait until the page's live stream is in `mode`, asking from outside the page (the pages'
    CSP refuses the eval behind Playwright's polling wait_for_function)."""
    deadline = time.monotonic() + timeout
    while page.evaluate("FQ.live.mode") != mode:
        assert time.monotonic() < deadline, f"FQ.live.mode is not {mode!r}"
        page.wait_for_timeout(100)


def test_ten_tabs_share_one_stream_an_alarm_reaches_each_and_an_eleventh_page_loads(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    first = desk_visit(browser, live_server, "demo_operator", "/map")
    context = first.page.context
    pages = [first.page]
    for n in range(1, 10):
        page = context.new_page()
        page.goto(f"{live_server.base_url}{'/messages' if n % 2 else '/map'}")
        pages.append(page)
    for page in pages:
        page.locator(READY).wait_for(state="attached", timeout=30_000)
        # One stream for the whole browser: the tabs hear it through a SharedWorker.
        assert page.evaluate("FQ.live.mode") == "shared"
    for page in pages[::2]:
        page.locator("#map[data-state=ready]").wait_for()
        expect(page.locator("#live-state.is-live")).to_be_visible(timeout=10_000)

    alarm = api.file(world, urgent=True, title="一键报警", contact_phone="13812345678",
                     description="十个标签页同时打开时的报警")  # fmt: skip
    for page in pages:
        expect(page.locator("#alarm-dialog")).to_be_visible(timeout=15_000)
        expect(dialog_item(page, alarm["id"])).to_contain_text("一键报警")
    item = dialog_item(pages[0], alarm["id"])
    expect(item.locator(".alarm-call")).to_have_attribute("href", "tel:13812345678")
    expect(item.locator(".alarm-grid")).to_contain_text(alarm["grid"]["name"])
    expect(item.locator(".alarm-address")).to_have_text("柯桥街道某路")
    expect(item.locator(f"a[href='/events/{alarm['id']}']")).to_be_visible()
    # The one-map's own alarm list hears the same stream.
    expect(pages[0].locator(f"#alarm-list li.alarm[data-id='{alarm['id']}']")).to_be_attached()
    first.screenshot("alarm-dialog")

    # Ten pages hold no connection each: an eleventh loads, and shows the alarm as well.
    eleventh = context.new_page()
    eleventh.goto(f"{live_server.base_url}/events", timeout=15_000)
    expect(eleventh.locator("#alarm-dialog")).to_be_visible(timeout=15_000)
    expect(dialog_item(eleventh, alarm["id"])).to_be_visible()
    first.assert_clean()
    context.close()


def test_taking_an_alarm_in_one_tab_closes_it_everywhere_and_is_on_the_trail(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    operator = desk_visit(browser, live_server, "demo_operator", "/events")
    page = operator.page
    # The sound: a one-time switch in the header while it is not on, the shipped file.
    toggle = page.locator("#sound-toggle")
    expect(toggle).to_be_visible()
    expect(toggle).to_have_text("启用声音")
    expect(page.locator("#alarm-sound")).to_have_attribute("src", "/static/alarm.wav")
    sound = httpx.get(f"{live_server.base_url}/static/alarm.wav")
    assert sound.status_code == 200 and sound.content[:4] == b"RIFF"
    assert sound.content[8:12] == b"WAVE" and len(sound.content) < 20_000
    toggle.click()
    expect(toggle).to_be_hidden()
    assert page.evaluate("localStorage.getItem('fq-alarm-sound')") == "on"
    page.reload()
    page.locator(READY).wait_for(state="attached")
    expect(page.locator("#sound-toggle")).to_be_hidden()

    second = page.context.new_page()
    second.goto(f"{live_server.base_url}/map")
    district = desk_visit(browser, live_server, "demo_district_operator", "/messages")
    for tab in (page, second, district.page):
        tab.locator(READY).wait_for(state="attached", timeout=30_000)

    alarm = api.file(world, urgent=True, title="一键报警", description="接警测试")
    for tab in (page, second, district.page):
        expect(dialog_item(tab, alarm["id"])).to_be_visible(timeout=15_000)
    # Where sound was never switched on, the dialog offers the switch.
    expect(district.page.locator("#alarm-sound-toggle")).to_be_visible()
    expect(page.locator("#alarm-sound-toggle")).to_be_hidden()
    # Neither Esc nor a click beside it closes it.
    second.bring_to_front()
    second.keyboard.press("Escape")
    second.keyboard.press("Escape")
    second.mouse.click(5, 5)
    second.wait_for_timeout(300)
    expect(second.locator("#alarm-dialog")).to_be_visible()

    page.bring_to_front()
    dialog_item(page, alarm["id"]).locator(".alarm-take").click()
    expect(page.locator(".toast-ok", has_text="已接警").last).to_be_visible()
    for tab in (page, second, district.page):
        expect(tab.locator("#alarm-dialog")).to_be_hidden(timeout=10_000)
    trail = api.get("demo_operator", f"/events/{alarm['id']}")["trail"]
    taken = [row for row in trail if row["action"] == "alarm_ack"]
    assert len(taken) == 1 and taken[0]["actor"]["id"] == world.ids["demo_operator"]
    # The event page shows it on the trail, in Chinese.
    page.goto(f"{live_server.base_url}/events/{alarm['id']}")
    expect(page.locator("#event-trail")).to_contain_text("接警")
    operator.assert_clean()
    district.assert_clean()
    page.context.close()
    district.page.context.close()


def test_without_a_shared_worker_one_leader_tab_holds_the_stream_for_all(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", "/messages")
    context = visit.page.context
    # A browser without SharedWorker (Chrome on Android): tabs elect a leader with Web Locks.
    context.add_init_script("delete window.SharedWorker;")
    pages = []
    for _ in range(3):
        page = context.new_page()
        page.goto(f"{live_server.base_url}/messages")
        page.locator(READY).wait_for(state="attached", timeout=30_000)
        pages.append(page)
    visit.page.close()
    wait_for_mode(pages[0], "leader")
    assert [p.evaluate("FQ.live.mode") for p in pages] == ["leader", "follower", "follower"]
    alarm = api.file(world, urgent=True, title="一键报警", description="无共享线程的浏览器")
    for page in pages:
        expect(dialog_item(page, alarm["id"])).to_be_visible(timeout=15_000)
    # The leader goes away: the next tab takes the lock and the stream, nothing is lost.
    pages[0].close()
    pages = pages[1:]
    wait_for_mode(pages[0], "leader", timeout=10)
    api.post("demo_operator", f"/command/alarms/{alarm['id']}/ack")
    for page in pages:
        expect(page.locator("#alarm-dialog")).to_be_hidden(timeout=15_000)
    context.close()


def test_an_answer_heard_while_the_list_is_on_its_way_is_not_undone_by_it(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    """The list alarm.js asks for after an alarm can be read before another screen's 接警 and
    arrive after the stream told the page of it: the answered alarm stays answered."""
    visit = desk_visit(browser, live_server, "demo_operator", "/messages")
    page = visit.page
    page.locator(READY).wait_for(state="attached", timeout=30_000)
    page.evaluate(
        "() => { window.heardAcks = []; FQ.live.on('ack', (a) => heardAcks.push(a.id)); }"
    )
    held: list[tuple[Any, Any]] = []

    def hold(route: Any) -> None:
        if held or route.request.method != "GET":
            route.continue_()
        else:
            held.append((route, route.fetch()))  # read now, delivered later

    page.route("**/api/v1/command/alarms", hold)
    alarm = api.file(world, urgent=True, title="一键报警", description="接警与列表同时到达")
    deadline = time.monotonic() + 15
    while not held:
        assert time.monotonic() < deadline, "alarm.js did not ask for the list"
        page.wait_for_timeout(50)
    route, response = held[0]
    assert alarm["id"] in [a["id"] for a in response.json()["items"]]
    api.post("demo_district_operator", f"/command/alarms/{alarm['id']}/ack")
    deadline = time.monotonic() + 15
    while alarm["id"] not in page.evaluate("heardAcks"):
        assert time.monotonic() < deadline, "the page did not hear the answer"
        page.wait_for_timeout(50)
    with page.expect_response("**/api/v1/command/alarms"):
        route.fulfill(response=response)
    page.wait_for_timeout(300)
    expect(page.locator("#alarm-dialog")).to_be_hidden()
    expect(dialog_item(page, alarm["id"])).to_have_count(0)
    page.unroute("**/api/v1/command/alarms")
    visit.assert_clean()
    page.context.close()


def test_an_alarm_the_stream_never_announced_still_closes_when_taken(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    """The stream looks at the waiting alarms every 2 s; an alarm raised and taken between two
    looks is never announced, nor its answer, yet the page's own list may have caught it
    waiting. With no stream at all, the standing dialog still closes: the page asks again."""
    visit = desk_visit(browser, live_server, "demo_operator", "/messages")
    context = visit.page.context
    # A stream in the page itself (no SharedWorker, no Web Locks), refused every time.
    context.add_init_script("delete window.SharedWorker; delete Navigator.prototype.locks;")
    context.route("**/api/v1/live/stream", lambda route: route.abort())
    alarm = api.file(world, urgent=True, title="一键报警", description="未经推送得知的报警")
    page = context.new_page()
    page.goto(f"{live_server.base_url}/messages")
    assert page.evaluate("FQ.live.mode") == "own"
    expect(dialog_item(page, alarm["id"])).to_be_visible(timeout=15_000)
    api.post("demo_district_operator", f"/command/alarms/{alarm['id']}/ack")
    expect(page.locator("#alarm-dialog")).to_be_hidden(timeout=10_000)
    expect(dialog_item(page, alarm["id"])).to_have_count(0)
    context.close()

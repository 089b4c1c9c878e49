"""A draining instance moves its live streams, in Chromium (issue 21, item 5): the server sends
`retry: 500` and `event: reconnect` and ends each stream; the browser reconnects with its cursor
and the page never shows the stream as dropped, and what happens next still reaches it."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import Browser, expect

from fengqiao import drain
from tests.e2e.conftest import Api, LiveServer, World, desk_visit

pytestmark = pytest.mark.e2e

RECORD_STATES = """() => {
  window.fqStates = [];
  FQ.live.on("state", (live) => window.fqStates.push(live));
}"""


def test_a_drain_moves_the_stream_without_the_page_calling_it_dropped(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    visit = desk_visit(browser, live_server, "demo_operator", "/map")
    page = visit.page
    page.locator("#map[data-state=ready]").wait_for()
    expect(page.locator("#live-state.is-live")).to_be_visible(timeout=10_000)
    page.evaluate(RECORD_STATES)
    drain.begin_drain()
    try:
        # While draining, every reconnect is ended at once too (HAProxy would send it to another
        # instance); the browser keeps trying every half second.
        time.sleep(2.0)
    finally:
        drain.reset()
    page.wait_for_timeout(1500)  # the next reconnect stays open
    states = page.evaluate("window.fqStates")
    assert False not in states, f"the page was told the stream dropped: {states}"
    expect(page.locator("#live-state.is-live")).to_be_visible()
    alarm = api.file(world, urgent=True, title="一键报警", description="迁移后的报警")
    expect(page.locator("#alarm-dialog")).to_be_visible(timeout=15_000)
    expect(page.locator(f"#alarm-dialog .alarm-item[data-id='{alarm['id']}']")).to_be_visible()
    visit.assert_clean()
    page.context.close()

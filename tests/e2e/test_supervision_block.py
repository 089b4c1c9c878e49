"""The event page shows the event's open supervision orders with the reply form for the
supervised unit, and folds the replied ones away (issue 17, item 1)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.events.conftest import World

from .conftest import Api, LiveServer, Visit, sign_in


def test_the_unit_replies_to_an_order_on_the_event_page(
    visit: Visit, live_server: LiveServer, api: Api, world: World
) -> None:
    event = api.act(
        api.act(api.file(world), "demo_operator", "accept"), "demo_operator", "dispatch"
    )
    path = f"/events/{event['id']}/supervision-orders"
    first = api.post("demo_leader", path, expect=201,
                     json={"kind": "leader", "requirement": "请三日内办结并回复<b>进展</b>"})  # fmt: skip
    api.post("demo_leader", path, expect=201, json={"kind": "important", "requirement": "注意安全"})
    page = visit.page
    sign_in(visit, "demo_handler", live_server.settings.demo_password, f"/events/{event['id']}")
    block = page.locator("#event-supervision")
    expect(block).to_be_visible()
    expect(block.locator("h2")).to_contain_text("2 件待回复")
    order = block.locator(f"[data-code='{first['code']}']")
    expect(order).to_contain_text("领导督办")
    expect(order).to_contain_text("待回复")
    expect(order).to_contain_text("请三日内办结并回复<b>进展</b>")  # typed text stays text
    expect(order.locator(".reply-form")).to_be_visible()
    block.evaluate("node => node.scrollIntoView()")
    visit.screenshot("event-supervision-open")
    order.locator("button[type=submit]").click()
    expect(order.locator("textarea[name=reply]:invalid")).to_have_count(1)  # a reply needs words
    expect(block.locator("h2")).to_contain_text("2 件待回复")
    order.locator("textarea[name=reply]").fill("已安排执法中队处置，周五前办结")
    order.locator("button[type=submit]").click()
    expect(block.locator("h2")).to_contain_text("1 件待回复")
    replied = block.locator("details.replied-orders")
    expect(replied.locator("summary")).to_have_text("已回复的督办单（1）")
    expect(replied.locator(f"[data-code='{first['code']}']")).to_be_hidden()  # folded
    replied.locator("summary").click()
    expect(replied.locator(f"[data-code='{first['code']}']")).to_contain_text("已安排执法中队处置")
    expect(page.locator("#event-trail")).to_contain_text("已安排执法中队处置")
    block.evaluate("node => node.scrollIntoView()")
    visit.screenshot("event-supervision-replied")
    visit.assert_clean()

    # An operator reads the orders but has no reply form; a grid worker sees no block at all.
    page.context.clear_cookies()
    sign_in(visit, "demo_operator", live_server.settings.demo_password, f"/events/{event['id']}")
    expect(page.locator("#event-supervision h2")).to_contain_text("1 件待回复")
    expect(page.locator("#event-supervision .reply-form")).to_have_count(0)

"""联合执法 in Chromium: a joint event round its loop with two units. The operator dispatches it
with an assisting unit (协办), both units sign their parts, the assisting unit feeds back, the
lead's feedback waits for it and then goes through, the grid worker verifies, and it closes."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Api, LiveServer, Visit, World, desk_visit
from tests.e2e.test_loop import act_in_page, photo, status_is
from tests.e2e.test_worker_proof import PHONE_375, phone

pytestmark = pytest.mark.e2e


def assistant(api: Api, world: World, event: dict[str, Any]) -> tuple[int, str]:
    """(unit, a handler's username) of another unit of the event's town."""
    units = {u["id"]: u for u in api.get("demo_operator", "/units", size=500)["items"]}
    handlers = api.get("demo_operator", "/users", role="handler", size=500)["items"]
    for user in sorted(handlers, key=lambda u: u["id"]):
        unit = units.get(user["unit_id"])
        if unit and unit["id"] != world.handler_unit and unit["org"]["id"] == event["town"]["id"]:
            return unit["id"], user["username"]
    raise AssertionError("no other unit of the town has a handler")


def test_a_joint_event_goes_round_its_loop_with_two_units(
    browser: Browser, live_server: LiveServer, world: World, api: Api, worker_phone: Visit
) -> None:
    event = api.act(api.file(world), "demo_operator", "accept")
    unit, helper = assistant(api, world, event)

    # 1. The operator dispatches to the proposed lead with an assisting unit ticked.
    operator = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = operator.page
    status_is(page, "已受理")
    page.locator("#action-tabs button[data-action='dispatch']").click()
    form = page.locator(".action-form[data-action='dispatch']")
    # The 协办 list follows the chosen lead: never offers the lead, offers the others.
    lead_box = form.locator(f"label[data-unit='{world.handler_unit}']")
    unit_box = form.locator(f"label[data-unit='{unit}']")
    expect(lead_box).to_be_hidden()
    form.locator("select[name=unit_id]").select_option(str(unit))
    expect(unit_box).to_be_hidden()
    expect(lead_box).to_be_visible()
    form.locator("select[name=unit_id]").select_option(str(world.handler_unit))
    expect(lead_box).to_be_hidden()
    form.locator(f"input[data-assist][value='{unit}']").check()
    form.get_by_role("button", name="提交").click()
    status_is(page, "已交办")
    parts = page.locator("#part-list li")
    expect(parts).to_have_count(2)
    expect(parts.nth(0)).to_contain_text("主办")
    expect(parts.nth(1)).to_contain_text("协办")
    expect(parts.nth(1)).to_contain_text("待签收")
    operator.assert_clean()

    # 2. The assisting unit signs its part; the lead signs the event.
    second = desk_visit(browser, live_server, helper, f"/events/{event['id']}")
    act_in_page(second.page, "sign_part")
    expect(second.page.locator("#part-list li").nth(1)).to_contain_text("已签收")
    lead = desk_visit(browser, live_server, "demo_handler", f"/events/{event['id']}")
    act_in_page(lead.page, "sign")
    status_is(lead.page, "已签收")
    # The lead's feedback waits for the assisting unit: not offered, shown with who may.
    expect(lead.page.locator("#action-tabs button[data-action='feedback']")).to_have_count(0)

    # 3. The assisting unit feeds back with its result and photo.
    second.page.reload()
    second.page.locator("#action-tabs button[data-action='feedback_part']").click()
    form = second.page.locator(".action-form[data-action='feedback_part']")
    form.locator("[name=result]").fill("已配合取缔占道摊位")
    form.locator("input[type=file]").set_input_files(photo("assist.jpg"))
    form.get_by_role("button", name="提交").click()
    expect(second.page.locator("#part-list li").nth(1)).to_contain_text("已反馈")
    second.assert_clean()

    # 4. Now the lead feeds back.
    lead.page.reload()
    lead.page.locator("#action-tabs button[data-action='feedback']").click()
    form = lead.page.locator(".action-form[data-action='feedback']")
    form.locator("[name=result]").fill("联合执法已清理占道经营")
    form.locator("input[type=file]").set_input_files(photo("lead.jpg"))
    form.get_by_role("button", name="提交").click()
    status_is(lead.page, "已反馈")
    lead.screenshot("joint-event-handled")
    lead.assert_clean()

    # 5. The grid worker verifies on site, and the event closes.
    phone = worker_phone.page
    phone.locator(".tab-bar button[data-tab=tasks]").click()
    task = phone.locator(f".task[data-id='{event['id']}']")
    expect(task).to_contain_text("联合执法已清理占道经营")
    task.locator("input[type=file]").set_input_files(photo("check.jpg"))
    task.locator("input[name=confirmed]").check()
    task.get_by_role("button", name="核查通过").click()
    expect(phone.locator(".toast-ok", has_text="核查通过").last).to_be_visible()
    closed = api.get("demo_operator", f"/events/{event['id']}")
    assert closed["status"] == "closed"
    actions = [row["action"] for row in closed["trail"]]
    assert actions.index("feedback_part") < actions.index("feedback") < actions.index("verify")
    operator.page.reload()
    status_is(operator.page, "已结案")
    expect(operator.page.locator("#part-list li")).to_have_count(2)
    operator.screenshot("joint-event-closed")
    for visit in (operator, second, lead):
        visit.page.context.close()


def test_joint_operations_page_plans_and_records_results(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    operator = desk_visit(browser, live_server, "demo_operator", "/joint-operations")
    page = operator.page
    page.locator("#jointops-page[data-ready=true]").wait_for()
    page.locator("#op-new summary").click()
    form = page.locator("#op-form")
    expect(form.locator("#op-lead option").first).to_be_attached()
    form.locator("[name=name]").fill("夜间占道经营联合整治")
    form.locator("#op-area").select_option(str(api.get("demo_operator", "/users/me")["home"]["id"]))
    form.locator("[name=people]").fill("24")
    form.locator("#op-units input[data-unit]").nth(1).check()
    form.locator("[name=place]").fill("柯桥街道夜市一带")
    form.locator("[name=starts_at]").fill("2026-12-02T19:00")
    form.locator("[name=ends_at]").fill("2026-12-02T23:00")
    form.locator("#op-submit").click()
    detail = page.locator("#op-detail")
    expect(detail).to_contain_text("夜间占道经营联合整治")
    results = page.locator("#results-form")
    results.locator("[name=results]").fill("取缔流动摊贩12处")
    results.locator("[data-q=name]").first.fill("取缔流动摊贩")
    results.locator("[data-q=value]").first.fill("12")
    results.locator("[data-q=unit]").first.fill("处")
    results.get_by_role("button", name="登记结果").click()
    expect(detail).to_contain_text("已完成")
    expect(page.locator("#op-table tbody tr").first).to_contain_text("取缔流动摊贩 12 处")
    operator.screenshot("joint-operations")
    operator.assert_clean()
    operator.page.context.close()


def test_an_assisting_handler_signs_and_feeds_back_its_part_on_the_phone(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.act(api.file(world), "demo_operator", "accept")
    unit, helper = assistant(api, world, event)
    event = api.act(event, "demo_operator", "dispatch", assist_unit_ids=[unit])
    visit = phone(browser, live_server, world, helper, PHONE_375)
    page = visit.page
    card = page.locator(f".part-card[data-id='{event['id']}']")
    expect(card).to_contain_text("协办")
    card.get_by_role("button", name="协办签收").click()
    expect(page.locator(".toast-ok", has_text="已签收协办").last).to_be_visible()
    card = page.locator(f".part-card[data-id='{event['id']}'][data-part='signed']")
    form = card.locator(".feedback-form")
    form.locator("[name=result]").fill("已配合劝离摊贩")
    form.locator("input[data-origin=camera]").set_input_files(photo("part.jpg"))
    expect(form.locator(".thumbs img")).to_have_count(1)
    form.get_by_role("button", name="提交协办反馈").click()
    expect(page.locator(".toast-ok", has_text="已反馈协办").last).to_be_visible()
    parts = api.get("demo_operator", f"/events/{event['id']}")["parts"]
    assert parts[1]["status"] == "fed_back" and parts[1]["result"] == "已配合劝离摊贩"
    visit.screenshot("joint-part-phone")
    page.context.close()

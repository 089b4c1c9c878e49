"""The closed loop walked in Chromium by the people who walk it: the grid worker reports from
the phone, the operator accepts and dispatches, the handler signs and feeds back with a photo,
the grid worker verifies on site and the event closes. Plus what must never happen: a script in
a description running, a user reading another town's event, a refusal without a reason."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, FilePayload, Page, expect

from tests.e2e.conftest import (
    JPEG_PHOTO,
    Api,
    LiveServer,
    Visit,
    World,
    desk_visit,
)

pytestmark = pytest.mark.e2e


def photo(name: str) -> FilePayload:
    return {"name": name, "mimeType": "image/jpeg", "buffer": JPEG_PHOTO}


def act_in_page(page: Page, action: str, **fields: str) -> None:
    """Open the action's form on the event page, fill it and submit it."""
    page.locator(f"#action-tabs button[data-action='{action}']").click()
    form = page.locator(f".action-form[data-action='{action}']")
    for name, value in fields.items():
        control = form.locator(f"[name='{name}']")
        if control.evaluate("el => el.tagName") == "SELECT":
            control.select_option(value)
        else:
            control.fill(value)
    form.get_by_role("button", name="提交").click()


def status_is(page: Page, text: str) -> None:
    expect(page.locator("#event-badges .status")).to_have_text(text)


def test_an_event_goes_round_the_whole_loop_in_the_browser(
    browser: Browser, live_server: LiveServer, world: World, api: Api, worker_phone: Visit
) -> None:
    marker = f"井盖缺失-{uuid.uuid4().hex[:6]}"
    # 1. The grid worker reports from the phone: class, description, photo, GPS from the device.
    phone = worker_phone.page
    expect(phone.locator("#gps-text")).to_contain_text("精度 ±12 米")
    phone.locator(f"#major-chips .chip[data-code='{world.handler_category[:2]}']").click()
    phone.locator(f"#minor-chips .chip[data-code='{world.handler_category}']").click()
    phone.locator("#report-description").fill(f"{marker} 路口井盖缺失,存在安全隐患")
    phone.locator("#report-photos").set_input_files(photo("scene.jpg"))
    expect(phone.locator("#report-thumbs img")).to_have_count(1)
    worker_phone.screenshot("worker-report")
    phone.locator("#report-submit").click()
    expect(phone.locator(".toast-ok", has_text="已上报").last).to_be_visible()
    expect(phone.locator("#queue-card")).to_be_hidden()
    found = api.get("demo_operator", "/events", q=marker)["items"]
    assert len(found) == 1
    event_id = found[0]["id"]
    detail = api.get("demo_operator", f"/events/{event_id}")
    assert detail["status"] == "reported" and len(detail["attachments"]) == 1
    lat, lng = world.grid_point
    assert abs(detail["lat"] - lat) < 1e-6 and abs(detail["lng"] - lng) < 1e-6

    # 2. The operator finds it in the event center, accepts and dispatches to the proposal.
    operator = desk_visit(browser, live_server, "demo_operator", "/events")
    page = operator.page
    page.locator("#filters [name=q]").fill(marker)
    page.locator("#filters").get_by_role("button", name="查询").click()
    expect(page.locator("#events-table tbody tr")).to_have_count(1)
    operator.screenshot("events-list")
    page.locator("#events-table .event-title").click()
    expect(page.locator("#event-title")).to_have_text(detail["title"])
    status_is(page, "已上报")
    act_in_page(page, "accept", note="情况属实,予以受理")
    status_is(page, "已受理")
    page.locator("#action-tabs button[data-action='dispatch']").click()
    unit = page.locator(".action-form[data-action='dispatch'] select[name=unit_id] option").first
    expect(unit).to_contain_text("系统建议")
    act_in_page(page, "dispatch")
    status_is(page, "已交办")
    expect(page.locator("#event-trail li")).to_have_count(3)
    operator.screenshot("event-dispatched")
    operator.assert_clean()

    # 3. The handler signs and feeds back with a photo.
    handler = desk_visit(browser, live_server, "demo_handler", f"/events/{event_id}")
    page = handler.page
    act_in_page(page, "sign")
    status_is(page, "已签收")
    page.locator("#action-tabs button[data-action='feedback']").click()
    form = page.locator(".action-form[data-action='feedback']")
    form.locator("[name=result]").fill("已补装井盖并设置警示")
    form.locator("input[type=file]").set_input_files(photo("done.jpg"))
    form.get_by_role("button", name="提交").click()
    status_is(page, "已反馈")
    expect(page.locator("#event-photos img")).to_have_count(2)
    handler.screenshot("event-handled")
    handler.assert_clean()

    # 4. The grid worker verifies on site with a photo, and the event closes.
    phone.locator(".tab-bar button[data-tab=tasks]").click()
    task = phone.locator(f".task[data-id='{event_id}']")
    expect(task).to_contain_text("已补装井盖并设置警示")
    task.locator("input[type=file]").set_input_files(photo("check.jpg"))
    task.locator("input[name=confirmed]").check()  # 核查通过 needs the explicit confirmation
    worker_phone.screenshot("worker-verify")
    task.get_by_role("button", name="核查通过").click()
    expect(phone.locator(".toast-ok", has_text="核查通过").last).to_be_visible()
    expect(phone.locator(f".task[data-id='{event_id}']")).to_have_count(0)
    closed = api.get("demo_operator", f"/events/{event_id}")
    assert closed["status"] == "closed"
    assert [row["action"] for row in closed["trail"]][-1] == "verify"
    assert len(closed["attachments"]) == 3
    worker_phone.assert_clean()

    # The operator's page shows the closing on reload.
    operator.page.reload()
    status_is(operator.page, "已结案")
    for visit in (operator, handler):
        visit.page.context.close()


def test_a_refused_step_says_why_on_its_form(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world)
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    handler = desk_visit(browser, live_server, "demo_handler", f"/events/{event['id']}")
    page = handler.page
    # A return needs a reason: the browser says so before the server is asked.
    page.locator("#action-tabs button[data-action='return']").click()
    form = page.locator(".action-form[data-action='return']")
    form.get_by_role("button", name="提交").click()
    assert form.locator("[name=note]").evaluate("el => el.validity.valueMissing")
    # Somebody else moved the event meanwhile: the stale version is refused with the reason.
    api.act(event, "demo_handler", "sign")
    page.locator("#action-tabs button[data-action='return']").click()
    form.locator("[name=note]").fill("不属于本单位职责")
    form.get_by_role("button", name="提交").click()
    error = page.locator(".action-form .form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("已被他人更新")
    status_is(page, "已签收")
    handler.screenshot("event-stale")
    assert all("409" in message for message in handler.errors), handler.errors
    handler.page.context.close()


def test_a_step_the_caller_may_not_take_is_shown_disabled_with_who_may(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    event = api.file(world)
    event = api.act(event, "demo_operator", "accept")
    event = api.act(event, "demo_operator", "dispatch")
    # The operator may not sign for the unit: the step is there, disabled, with the reason.
    operator = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = operator.page
    status_is(page, "已交办")
    blocked = page.locator("#blocked-actions li[data-action='sign']")
    expect(blocked.get_by_role("button")).to_be_disabled()
    expect(blocked).to_contain_text("可签收")
    expect(page.locator("#action-tabs button[data-action='sign']")).to_have_count(0)
    operator.screenshot("event-blocked-step")
    # The handler of the unit may: the step is a form, and nothing is listed as blocked.
    handler = desk_visit(browser, live_server, "demo_handler", f"/events/{event['id']}")
    expect(handler.page.locator("#action-tabs button[data-action='sign']")).to_be_visible()
    expect(handler.page.locator("#blocked-actions li")).to_have_count(0)
    for visit in (operator, handler):
        visit.assert_clean()
        visit.page.context.close()


def test_an_xss_payload_in_a_description_is_shown_as_text(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    payload = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    event = api.file(world, description=payload, title="<b>标题</b><svg onload=window.__xss=3>")
    operator = desk_visit(browser, live_server, "demo_operator", f"/events/{event['id']}")
    page = operator.page
    expect(page.locator("#event-description")).to_have_text(payload)
    expect(page.locator("#event-title")).to_have_text("<b>标题</b><svg onload=window.__xss=3>")
    page.goto(live_server.base_url + "/events?q=" + "onerror")
    expect(page.locator("#events-table tbody tr").first).to_be_visible()
    page.goto(live_server.base_url + "/map")
    page.locator("#map[data-state=ready]").wait_for()
    assert page.evaluate("window.__xss") is None
    assert page.locator("img[src='x']").count() == 0
    operator.page.context.close()


@pytest.fixture(scope="session")
def town_b(live_server: LiveServer, api: Api) -> dict[str, Any]:
    """A second town in the district, with an operator and an event of its own."""
    west, south = 120.36, 29.96
    square = [[west, south], [west + 0.03, south], [west + 0.03, south + 0.03],
              [west, south + 0.03], [west, south]]  # fmt: skip

    def feature(code: str, name: str, **props: Any) -> dict[str, Any]:
        return {
            "type": "Feature",
            "properties": {"code": code, "name": name, **props},
            "geometry": {"type": "Polygon", "coordinates": [square]},
        }

    collection = {
        "type": "FeatureCollection",
        "features": [
            feature("330603009", "安昌街道", area_type="rural"),
            feature("330603009001", "安昌村", village_type="village"),
            feature("330603009001001", "安昌村第1网格", households=120, population=360),
        ],
    }
    api.post("admin", "/org/import", json=collection)
    api.post(
        "admin",
        "/users",
        expect=201,
        json={
            "username": "op_anchang",
            "name": "安昌坐席",
            "password": live_server.settings.demo_password,
            "roles": ["operator"],
            "home_org_code": "330603009",
        },
    )
    event = api.post(
        "op_anchang",
        "/events",
        expect=201,
        json={"source": "hotline", "category": "0101", "lat": south + 0.015,
              "lng": west + 0.015, "description": "安昌村邻里纠纷"},
    )  # fmt: skip
    return {"event": event}


def test_a_user_of_one_town_cannot_open_an_event_of_another(
    browser: Browser, live_server: LiveServer, world: World, api: Api, town_b: dict[str, Any]
) -> None:
    theirs = town_b["event"]
    ours = api.file(world)
    operator = desk_visit(browser, live_server, "demo_operator", f"/events/{theirs['id']}")
    expect(operator.page.locator("#page-error[data-status='404']")).to_contain_text("未找到")
    operator.screenshot("event-404")
    operator.page.goto(live_server.base_url + "/events?q=安昌村邻里纠纷")
    expect(operator.page.locator("#events-table tbody")).to_contain_text("没有符合条件的事件")
    api_read = httpx.get(f"{api.base}/events/{theirs['id']}", headers=api.headers("demo_operator"))
    assert api_read.status_code == 404
    other = desk_visit(browser, live_server, "op_anchang", f"/events/{ours['id']}")
    expect(other.page.locator("#page-error[data-status='404']")).to_be_visible()
    other.page.goto(f"{live_server.base_url}/events/{theirs['id']}")
    expect(other.page.locator("#event-title")).to_have_text(theirs["title"])
    for visit in (operator, other):
        visit.page.context.close()

"""IoT in Chromium: an event a device filed shows 物联感知 (the device, how many alarms folded
into it, the last readings) and its system trail rows in Chinese."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.conftest import Api, LiveServer, desk_visit

pytestmark = pytest.mark.e2e


def test_an_iot_event_shows_its_device_and_alarm_count(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    device = api.get("demo_operator", "/iot/devices", device_type="smoke_detector")["items"][0]
    key = api.post("demo_operator", f"/iot/devices/{device['id']}/rotate-key")["key"]
    answers = [
        httpx.post(
            f"{api.base}/iot/alarms",
            json={"readings": {"smoke": True, "temperature": 30 + i}, "id": f"e2e-{i}"},
            headers={"X-Device-Key": key},
        ).json()
        for i in range(3)
    ]
    assert [a["result"] for a in answers] == ["filed", "folded", "folded"]
    event_id = answers[0]["event_id"]
    # A device's alarm is an alarm of the command room: taken (接警), its dialog closes.
    api.post("demo_operator", f"/command/alarms/{event_id}/ack")

    visit = desk_visit(browser, live_server, "demo_operator", f"/events/{event_id}")
    page = visit.page
    page.locator("#event-page[data-state=ready]").wait_for()
    section = page.locator("#event-iot")
    expect(section).to_be_visible()
    expect(section.locator("[data-iot=设备]")).to_contain_text(device["code"])
    expect(section.locator("[data-iot=告警次数]")).to_have_text("3")
    expect(section.locator("[data-iot=最近读数]")).to_have_text("烟雾 是、温度 32")
    expect(page.locator("#event-description")).to_contain_text(
        "告警：烟感报警（烟雾为是）。读数：烟雾 是、温度 30"
    )
    expect(section.locator("[data-iot=设备恢复]")).to_have_text("恢复后须人工核查结案")
    trail = page.locator("#event-trail")
    expect(trail).to_contain_text("设备告警")
    expect(trail).to_contain_text("设备重复告警")
    visit.assert_clean()
    section.scroll_into_view_if_needed()
    page.locator(".detail-main .detail-card").first.screenshot(path="test-artifacts/event-iot.png")
    page.context.close()

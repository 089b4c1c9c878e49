"""Numbers that do not mislead, in Chromium: the 考核 formula panel shows why a row got its grade
(the parts add up to the score, a 0 % patrol cap says so), and 预警 speaks plainly, links its
events by code and shows its reminder."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, expect

from fengqiao.db import Database
from fengqiao.warnings.followups import run_followups
from fengqiao.warnings.service import WarningRules, run_detectors
from tests.e2e.conftest import Api, LiveServer, desk_visit
from tests.events.conftest import World

pytestmark = pytest.mark.e2e


def test_the_formula_panel_shows_why_a_row_got_its_grade(
    browser: Browser, live_server: LiveServer, api: Api, world: World
) -> None:
    # A patrol this month (so coverage is judged) and a report (so every worker has a score):
    # the workers who walked none of their grids have the 0 % cap.
    started = httpx.post(
        api.base + "/me/patrol/start", headers=api.headers("demo_grid_worker"), timeout=30
    )
    assert started.status_code in (200, 201), started.text  # 200: the seed had left one open
    api.post("demo_grid_worker", "/me/patrol/stop")
    api.file(world)
    data = api.get("demo_district_leader", "/assessment", level="worker")
    assert data["partial"] and data["patrol_data"]
    capped = next(r for r in data["rows"] if r["caps"] and r["score"] is not None)

    visit = desk_visit(browser, live_server, "demo_district_leader", "/assessment?level=worker")
    page = visit.page
    expect(page.locator("#assessment-table")).to_have_attribute("data-shown", "worker -score")
    expect(page.locator("#period-note")).to_contain_text(data["period_label"])
    expect(page.locator("#period-note")).to_contain_text("与上月同期比较：" + data["compare_label"])
    expect(page.locator("#previous-head")).to_have_text("上月同期")
    row = page.locator(f"#assessment-table tbody tr[data-id='{capped['id']}']")
    row.locator(".formula-button").click()
    card = page.locator("#formula-card")
    expect(card).to_be_visible()
    expect(page.locator("#formula-title")).to_contain_text(capped["name"])
    expect(card.locator("tbody tr")).to_have_count(4)
    points = [
        float(text) for text in card.locator("tbody td.points").all_inner_texts() if text != "—"
    ]
    total = card.locator("tfoot td.total").inner_text()
    assert total == f"{capped['score']:.1f}" and f"{sum(points):.1f}" == total
    expect(card.locator("tbody tr[data-key=closure] td").nth(2)).to_contain_text("÷")
    notes = card.locator("#formula-notes")
    expect(notes).to_contain_text("等级标准：A ≥ 90，B ≥ 75，C ≥ 60，D ≥ 40，E 低于 40")
    expect(notes).to_contain_text("巡查覆盖率为0%，等级不高于C")
    expect(notes).to_contain_text("最终等级：" + capped["grade"])
    if capped["score_grade"] != capped["grade"]:
        expect(row.locator(".cap-mark")).to_have_text("封顶")
    page.wait_for_timeout(300)
    visit.screenshot("assessment-formula")
    visit.assert_clean()
    page.context.close()


def test_a_warning_reads_plainly_links_its_events_and_shows_its_reminder(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    marker = uuid.uuid4().hex[:6]
    lat, lng = world.other_grid_point  # not the village the other warnings test uses
    filed = [
        api.file(world, category=code, description=f"{text} {marker}", lat=lat, lng=lng)
        for code, text in [("0103", "工地拖欠农民工工资"), ("0301", "十余名村民聚集"),
                           ("0302", "村民联名信访")]
    ]  # fmt: skip
    database = Database(live_server.settings.database_url)
    try:
        rules = replace(WarningRules.from_settings(live_server.settings), interval_minutes=0.0)
        now = datetime.now(UTC)
        run_detectors(database=database, now=now, rules=rules)
        # A day and a bit later nobody has signed: the reminder goes out.
        run_followups(database=database, now=now + timedelta(days=1, minutes=5), rules=rules)
    finally:
        database.dispose()
    ids = {e["id"] for e in filed}
    clusters = api.get("demo_district_leader", "/warnings", kind="cluster")["items"]
    (warning,) = [w for w in clusters if set(w["event_ids"]) >= ids]
    assert [h["step"] for h in warning["history"]] == ["reminded"]

    visit = desk_visit(
        browser, live_server, "demo_district_leader", f"/warnings?id={warning['id']}"
    )
    page = visit.page
    row = page.locator(f"#warning-table tbody tr[data-id='{warning['id']}']")
    expect(row.locator(".warning-message")).to_have_text(warning["message"])
    expect(row.locator(".warning-message")).to_contain_text("天内发生涉稳类事件")
    expect(row.locator(".statistics")).to_have_text("预警线为3起。")
    for event in filed:
        expect(row.locator(f"a.event-code[href='/events/{event['id']}']")).to_have_text(
            event["code"]
        )
    expect(row.locator(".history-step[data-step=reminded]")).to_contain_text("未签收提醒")
    expect(row.locator(".standing")).to_contain_text("未签收将升级至区县级")
    expect(row).not_to_contain_text("泊松")
    visit.screenshot("warnings-plain")
    row.locator(f"a.event-code[href='/events/{filed[0]['id']}']").click()
    expect(page).to_have_url(f"{live_server.base_url}/events/{filed[0]['id']}")
    expect(page.locator("body")).to_contain_text(filed[0]["code"])
    visit.assert_clean()
    page.context.close()

"""预警 in the browser: three stability reports in one village make a warning, which the town's
operator sees on the warnings page and signs for with a note."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime

from playwright.sync_api import Browser, expect

from fengqiao.db import Database
from fengqiao.warnings.service import WarningRules, run_detectors
from tests.e2e.conftest import Api, LiveServer, desk_visit
from tests.events.conftest import World


def test_the_operator_sees_a_warning_and_acknowledges_it(
    browser: Browser, live_server: LiveServer, world: World, api: Api
) -> None:
    marker = uuid.uuid4().hex[:6]
    filed = {
        api.file(world, category=code, description=f"{text} {marker}")["id"]
        for code, text in [("0103", "工地拖欠农民工工资"), ("0301", "十余名村民聚集"),
                           ("0302", "村民联名信访")]
    }  # fmt: skip
    database = Database(live_server.settings.database_url)
    try:
        rules = replace(WarningRules.from_settings(live_server.settings), interval_minutes=0.0)
        counts = run_detectors(database=database, now=datetime.now(UTC), rules=rules)
    finally:
        database.dispose()
    assert counts["cluster"] >= 1
    clusters = api.get("demo_operator", "/warnings", kind="cluster", status="open")["items"]
    (warning,) = [w for w in clusters if set(w["event_ids"]) >= filed]

    operator = desk_visit(browser, live_server, "demo_operator", "/warnings")
    page = operator.page
    expect(page.locator("nav a", has_text="预警")).to_be_visible()
    page.locator("#filters [name=kind]").select_option("cluster")
    page.locator("#filters").get_by_role("button", name="查询").click()
    # The filtered rows drawn before typing: a redraw would take the note with it.
    expect(page.locator("#warning-table tbody[data-query*='kind=cluster']")).to_be_attached()
    row = page.locator(f"#warning-table tbody tr[data-id='{warning['id']}']")
    expect(row).to_contain_text("涉稳聚集")
    expect(row).to_contain_text(warning["place"]["name"])
    expect(row).to_contain_text("待签收")
    row.locator("textarea[name=note]").fill("已通知综治办、信访办入村化解")
    operator.screenshot("warnings-open")
    row.get_by_role("button", name="签收").click()
    expect(page.locator(".toast-ok", has_text="已签收预警").last).to_be_visible()
    row = page.locator(f"#warning-table tbody tr[data-id='{warning['id']}']")
    expect(row).to_contain_text("已签收")
    expect(row).to_contain_text("已通知综治办、信访办入村化解")
    operator.screenshot("warnings-acknowledged")
    operator.assert_clean()
    stored = api.get("demo_operator", f"/warnings/{warning['id']}")
    assert (
        stored["status"] == "acknowledged" and stored["acknowledged_by"]["code"] == "demo_operator"
    )
    operator.page.context.close()

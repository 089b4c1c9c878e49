"""Analysis meetings and tracked tasks in Chromium (issue 20, item 3): an operator arranges a
town meeting in 研判会商 (not recorded before its time: moved to now first), the agenda is
drafted (earlier decisions first), is edited and saved; the minutes are recorded with a decision
owned by the town's squadron; the decision is a tracked task with its light on the meeting page
and on the task page, which its handler opens on a phone, adds a photo and reports progress; the
town's next meeting shows it first on its agenda. A payload typed as a decision stays text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Browser, FilePayload, ViewportSize, expect
from sqlalchemy import select

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.org.models import OrgUnit
from tests.e2e.conftest import JPEG_PHOTO, Api, Held, LiveServer, desk_visit, open_visit, sign_in

PHONE_390: ViewportSize = {"width": 390, "height": 844}
PAYLOAD = '<img src=x onerror="document.title=1">落实<b>整改</b>'


def town_of(server: LiveServer, username: str) -> OrgUnit:
    database = Database(server.settings.database_url)
    try:
        with database.session() as db:
            user = db.scalars(select(User).where(User.username == username)).one()
            unit = db.get(OrgUnit, user.home_org_id)
            assert unit is not None and unit.kind == "town"
            db.expunge(unit)
            return unit
    finally:
        database.dispose()


def local(offset_days: float) -> datetime:
    return (datetime.now(UTC) + timedelta(days=offset_days)).astimezone(LOCAL_TZ)


def test_a_meeting_decision_becomes_a_task_and_leads_the_next_agenda(
    browser: Browser, live_server: LiveServer, api: Api
) -> None:
    town = town_of(live_server, "demo_operator")
    handler = api.get("demo_handler", "/users/me")
    desk = desk_visit(browser, live_server, "demo_operator", "/meetings")
    page = desk.page
    expect(page.locator("#meeting-days")).to_contain_text("月度分析研判会商")  # the demo's year
    # Three months ago the town's meeting was missed (the demo): flagged red in its month.
    today = local(0)
    back = (today.year * 12 + today.month - 1) - 3
    page.goto(f"{live_server.base_url}/meetings?month={back // 12}-{back % 12 + 1:02d}")
    missed = page.locator(".meeting-entry.status-missed")
    expect(missed.first.locator(".meeting-status")).to_have_text("未按期召开")
    expect(page.locator("#meeting-summary")).to_contain_text("未按期召开 1 场")
    desk.screenshot("meetings")
    page.goto(f"{live_server.base_url}/meetings")
    page.locator("#meeting-new summary").click()
    form = page.locator("#meeting-form")
    expect(page.locator(f"#meeting-area option[value='{town.id}']")).to_have_count(1)
    form.locator("select[name=org_id]").select_option(str(town.id))
    form.locator("input[name=title]").fill("冬季安全专题研判会商")
    form.locator("input[name=scheduled_at]").fill(local(0.1).strftime("%Y-%m-%dT%H:%M"))
    form.locator("input[name=place]").fill("街道综合信息指挥室")
    form.locator("button[type=submit]").click()
    page.wait_for_url("**/meetings/*")
    # Still ahead: no minutes yet; held earlier than planned, its time is moved first.
    expect(page.locator("#hold-ahead")).to_contain_text("届时方可记录纪要")
    expect(page.locator("#hold-card")).to_be_hidden()
    moved = page.locator("#reschedule-form")
    moved.locator("input[name=scheduled_at]").fill(local(-0.01).strftime("%Y-%m-%dT%H:%M"))
    moved.locator("button[type=submit]").click()
    expect(page.locator("#hold-card")).to_be_visible()
    expect(page.locator("#hold-ahead")).to_be_hidden()
    agenda = page.locator("#agenda .agenda-section")
    expect(agenda.first).to_have_attribute("data-key", "decisions")
    expect(agenda.first.locator("h3")).to_have_text("上次会商决定事项落实情况")
    expect(agenda).to_have_count(6)
    # The operator adds an item of their own and saves the agenda.
    warnings = page.locator("#agenda .agenda-section[data-key=warnings]")
    warnings.get_by_role("button", name="添加一项").click()
    warnings.locator("input[type=text]").last.fill("通报近期电信诈骗高发情况")
    page.locator("#agenda-save").click()
    expect(page.locator("#meeting-trail")).to_contain_text("修改议程")
    # Minutes and one decision owned by the town's law-enforcement squadron.
    hold = page.locator("#hold-form")
    hold.locator("textarea[name=minutes_text]").fill("会议分析了本月事件态势，部署冬季安全工作。")
    row = page.locator("#decision-rows .decision-row").first
    row.locator("input[name=title]").fill(PAYLOAD)
    row.locator("select[name=owner_unit_id]").select_option(str(handler["unit_id"]))
    row.locator("input[name=limit_days]").fill("5")
    page.locator("#hold-submit").click()
    decision = page.locator("#decision-table tbody tr").first
    expect(decision).to_contain_text("落实<b>整改</b>")  # text, never markup
    expect(decision.locator(".light")).to_have_text("绿灯")
    expect(page.locator("#meeting-status")).to_have_text("已召开")
    expect(page.locator("#minutes-text")).to_have_text("会议分析了本月事件态势，部署冬季安全工作。")
    assert page.title() != "1"
    code = decision.locator("a").first.inner_text()
    page.locator("#agenda-card").scroll_into_view_if_needed()
    desk.screenshot("meeting")
    desk.assert_clean()

    # The handler opens the task on a phone: its light, a photo, a progress note.
    phone = open_visit(browser, live_server, PHONE_390, has_touch=True, is_mobile=True,
                       locale="zh-CN")  # fmt: skip
    sign_in(phone, "demo_handler", live_server.settings.demo_password)
    phone.page.goto(f"{live_server.base_url}/tasks/{code}")
    tp = phone.page
    expect(tp.locator("#task-title")).to_have_text(PAYLOAD)
    expect(tp.locator("#task-light .light")).to_have_text("绿灯")
    photo: FilePayload = {"name": "after.jpg", "mimeType": "image/jpeg", "buffer": JPEG_PHOTO}
    tp.locator("#task-photos").set_input_files([photo])
    expect(tp.locator("#photos-chosen")).to_have_text("已选择 1 张")
    tp.locator("#photo-submit").click()
    expect(tp.locator("#task-photo-list img")).to_have_count(1)
    tp.locator("#progress-form textarea[name=note]").fill("已约谈相关经营户")
    tp.locator("#progress-form button[type=submit]").click()
    expect(tp.locator("#task-trail")).to_contain_text("报告进展")
    phone.screenshot("task-phone")
    phone.assert_clean()
    tp.context.close()

    # The town's next meeting shows the decision first, with its light.
    nxt = api.post("demo_operator", "/meetings", expect=201, json={
        "org_id": town.id, "title": "下次研判会商",
        "scheduled_at": local(3).isoformat(timespec="minutes"),
    })  # fmt: skip
    page.goto(f"{live_server.base_url}/meetings/{nxt['id']}")
    first = page.locator("#agenda .agenda-section").first
    expect(first).to_have_attribute("data-key", "decisions")
    item = first.locator("li", has_text=code)
    expect(item.locator(".light")).to_have_text("绿灯")
    assert item.locator("input[type=text]").input_value().startswith(PAYLOAD + "（")
    desk.assert_clean()
    page.context.close()


def test_a_slow_answer_for_a_month_clicked_past_does_not_overwrite_the_next(
    browser: Browser, live_server: LiveServer
) -> None:
    # 上月 twice: last month's meetings are held back until those of the month before are drawn;
    # then they arrive late and must be dropped (the demo holds meetings every month).
    desk = desk_visit(browser, live_server, "demo_operator", "/meetings")
    page = desk.page
    expect(page.locator("#meeting-days .meeting-date").first).to_be_visible()
    now = local(0)
    index = now.year * 12 + now.month - 1
    last, before = index - 1, index - 2
    held = Held(page, re.compile(r"/api/v1/meetings\?"), f"month={last // 12}-{last % 12 + 1:02d}")
    page.locator("#month-prev").click()
    page.locator("#month-prev").click()
    expect(page.locator("#meeting-month")).to_have_value(f"{before // 12}-{before % 12 + 1:02d}")
    days = page.locator("#meeting-days .meeting-date")
    expect(days.first).to_have_text(re.compile(f"^{before % 12 + 1}月"))
    shown = days.all_inner_texts()
    summary = page.locator("#meeting-summary").text_content() or ""
    held.release()
    assert days.all_inner_texts() == shown
    expect(page.locator("#meeting-summary")).to_have_text(summary)
    desk.assert_clean()
    page.context.close()

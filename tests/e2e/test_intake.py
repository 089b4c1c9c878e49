"""Business modules in the grid worker's app: 河长通 narrows the form to its classes and asks the
class's questions; the river chief's checklist files an event for each failed item."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import Api, Visit

pytestmark = pytest.mark.e2e


def test_a_module_narrows_the_classes_and_asks_the_class_s_questions(
    worker_phone: Visit, api: Api
) -> None:
    page = worker_phone.page
    page.locator("#module-chips .chip", has_text="河长通").click()
    majors = page.locator("#major-chips .chip")
    expect(majors).to_have_count(3)  # 违建国土, 生态环境, 便民服务: 河长通's classes only
    expect(page.locator("#major-chips .chip[data-code='01']")).to_have_count(0)
    page.locator("#major-chips .chip[data-code='09']").click()
    expect(page.locator("#minor-chips .chip")).to_have_count(3)  # 0901, 0902, 0905
    page.locator("#minor-chips .chip[data-code='0901']").click()
    questions = page.locator("#report-questions")
    expect(questions).to_be_visible()
    expect(questions.locator(".field")).to_have_count(3)
    marker = f"河长通上报-{uuid.uuid4().hex[:6]}"
    questions.locator("[name=river]").fill("瓜渚湖直江")
    questions.locator(".check-chip", has_text="泡沫").click()
    questions.locator("[name=extent_m]").fill("80")
    page.locator("#report-description").fill(marker + " 水面大量泡沫")
    worker_phone.screenshot("worker-module-questions")
    page.locator("#report-submit").click()
    expect(page.locator(".toast-ok", has_text="已上报").last).to_be_visible(timeout=15_000)
    found = api.get("demo_operator", "/events", q=marker)["items"]
    assert len(found) == 1
    detail = api.get("demo_operator", f"/events/{found[0]['id']}")
    assert [(a["question"], a["answer"]) for a in detail["answers"]] == [
        ("河道名称（河段）", "瓜渚湖直江"), ("水体异常", "泡沫"), ("影响河段长度（米）", "80"),
    ]  # fmt: skip


def test_a_required_question_left_empty_is_said_on_the_form(worker_phone: Visit) -> None:
    page = worker_phone.page
    page.locator("#module-chips .chip", has_text="食安通").click()
    page.locator("#major-chips .chip[data-code='05']").click()
    page.locator("#minor-chips .chip[data-code='0502']").click()
    expect(page.locator("#report-questions [name=shop_name]")).to_be_visible()
    page.locator("#report-description").fill("店内有过期食品")
    page.locator("#report-submit").click()
    # The server refuses it (required answer missing); the queued item shows the reason.
    expect(page.locator("#queue-list")).to_contain_text("必填：经营户名称", timeout=15_000)


def test_a_river_chief_s_checklist_files_events_for_failed_items(
    worker_phone: Visit, api: Api
) -> None:
    page = worker_phone.page
    page.locator(".tab-bar button[data-tab=patrol]").click()
    page.locator("#checklist-buttons button", has_text="河长巡河检查").click()
    dialog = page.locator("#checklist-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator(".check-item")).to_have_count(7)
    reach = f"瓜渚湖直江-{uuid.uuid4().hex[:6]}"
    dialog.locator("#checklist-subject").fill(reach)
    water = dialog.locator(".check-item[data-code=water]")
    water.locator(".check-chip.bad").click()
    water.locator("input[name=note]").fill("河水发黑有异味")
    worker_phone.screenshot("worker-river-checklist")
    dialog.locator("#checklist-submit").click()
    expect(dialog).to_be_hidden(timeout=15_000)
    expect(page.locator("#checklist-result")).to_contain_text("1 项问题已生成事件")
    runs = api.get("demo_grid_worker", "/intake/checklists")["items"]
    run = next(r for r in runs if r["subject"] == reach)
    assert run["problems"] == 1
    event_id = next(i["event_id"] for i in run["items"] if not i["ok"])
    event = api.get("demo_operator", f"/events/{event_id}")
    assert event["category"] == "0901" and "河水发黑有异味" in event["description"]

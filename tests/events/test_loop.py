"""The closed loop through the API: each step by the right person, refusals by the wrong one,
stale versions, pauses, returns and the trail."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.events.models import Event, EventLog
from fengqiao.events.trail import verify_rows

from .conftest import Desk, World


def test_the_whole_loop_closes_only_when_the_reporter_verifies(desk: Desk, db: Session) -> None:
    event = desk.to_handled(desk.file())
    assert event["status"] == "handled" and event["result"] == "已清理占道摊位"
    for other in ("demo_operator", "demo_grid_leader", "demo_handler"):
        refused = desk.act(event, other, "verify", ok=True, expect=403)
        assert "上报该事件的网格员" in refused["detail_zh"]
    closed = desk.verify_ok(event)
    assert closed["status"] == "closed" and closed["closed_at"]
    assert [r["action"] for r in closed["trail"]] == [
        "report", "accept", "dispatch", "sign", "attach", "feedback", "attach", "verify",
    ]  # fmt: skip
    assert closed["trail"][-1]["actor"]["code"] == "demo_grid_worker"
    rows = db.execute(
        select(EventLog).where(EventLog.event_id == event["id"]).order_by(EventLog.seq)
    ).scalars()
    stored = db.get(Event, event["id"])
    assert stored is not None
    rows_as_dicts = [r.__dict__ for r in rows]
    assert verify_rows(event["id"], rows_as_dicts, (stored.trail_seq, stored.trail_hash)) is None


def test_failed_verification_sends_it_back_as_rework(desk: Desk) -> None:
    event = desk.to_handled(desk.file())
    refused = desk.act(event, "demo_grid_worker", "verify", ok=False, expect=422)
    assert refused["errors"][0]["field"] == "note"
    back = desk.act(event, "demo_grid_worker", "verify", ok=False, note="摊位又回来了")
    assert back["status"] == "signed" and back["rework_count"] == 1


def test_feedback_needs_a_result_and_an_evidence_photo(desk: Desk) -> None:
    event = desk.file()
    event = desk.act(event, "demo_operator", "accept")
    event = desk.act(event, "demo_operator", "dispatch")
    event = desk.act(event, "demo_handler", "sign")
    no_photo = desk.act(event, "demo_handler", "feedback", result="已处理", expect=422)
    assert no_photo["type"].endswith("/evidence-required")
    assert desk.act(event, "demo_handler", "feedback", expect=422)["errors"][0]["field"] == "result"


def test_a_stale_version_is_409_and_changes_nothing(desk: Desk) -> None:
    event = desk.file()
    accepted = desk.act(event, "demo_operator", "accept")
    stale = desk.act(accepted, "demo_operator", "dispatch", version=event["version"], expect=409)
    assert stale["type"].endswith("/stale-version") and "刷新" in stale["detail_zh"]
    assert desk.get(event)["status"] == "accepted"


def test_an_action_not_allowed_in_this_state_is_409_and_says_why(desk: Desk) -> None:
    event = desk.file()
    # The state is checked before the role: an operator who may see it is told what can happen.
    problem = desk.act(event, "demo_operator", "sign", expect=409)
    assert problem["type"].endswith("/illegal-transition")
    assert "reported" in problem["detail"] and "accept" in problem["detail"]
    unknown = desk.act(event, "demo_operator", "teleport", expect=422)
    assert unknown["errors"][0]["field"] == "action"


def test_the_wrong_role_is_403_and_outside_scope_is_404(desk: Desk, world: World) -> None:
    event = desk.file()
    # A handler sees an event only once their unit owns it (or they acted on it).
    assert desk.act(event, "demo_handler", "accept", expect=404)["status"] == 404
    assert desk.act(event, "demo_grid_worker", "accept", expect=403)["detail_zh"]
    # A resident who did not report it cannot even see it.
    assert desk.act(event, "demo_resident", "accept", expect=404)["status"] == 404
    accepted = desk.act(event, "demo_operator", "accept")
    dispatched = desk.act(accepted, "demo_operator", "dispatch")
    # The district operator covers the town; a handler of another unit may not sign.
    assert desk.act(dispatched, "demo_operator", "sign", expect=403)["status"] == 403


def test_return_counts_and_redispatch_restarts_the_deadline(desk: Desk, clock: Any) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    first_due = datetime.fromisoformat(event["due_at"])
    assert desk.act(event, "demo_handler", "return", expect=422)["errors"][0]["field"] == "note"
    returned = desk.act(event, "demo_handler", "return", note="不属于执法中队职责")
    assert returned["status"] == "accepted" and returned["return_count"] == 1
    assert returned["owner_unit"] is None
    clock.advance(timedelta(days=2))
    again = desk.act(returned, "demo_operator", "dispatch")
    assert datetime.fromisoformat(again["due_at"]) > first_due
    assert again["trail"][-1]["payload"]["redispatch"] is True


def test_dispatch_to_another_unit_needs_a_reason(desk: Desk, world: World, db: Session) -> None:
    from fengqiao.org.models import Unit

    other_unit = db.scalars(
        select(Unit.id).where(Unit.id != world.handler_unit, Unit.category == "agency")
    ).first()
    event = desk.act(desk.file(), "demo_operator", "accept")
    no_reason = desk.act(event, "demo_operator", "dispatch", unit_id=other_unit, expect=422)
    assert no_reason["errors"][0]["field"] == "note"
    chosen = desk.act(
        event, "demo_operator", "dispatch", unit_id=other_unit, note="实为市场监管事项"
    )
    assert chosen["owner_unit"]["id"] == other_unit and chosen["routing_state"] == "override"
    assert chosen["trail"][-1]["payload"]["override"]["proposed"] == world.handler_unit


def test_a_class_without_a_rule_is_visibly_unrouted(
    desk: Desk, world: World, api: TestClient, auth: Any
) -> None:
    admin = auth("admin")
    rules = api.get("/api/v1/routing-rules", headers=admin).json()
    for rule in rules:
        if rule["category_code"] == world.handler_category or rule["category_code"] is None:
            response = api.patch(
                f"/api/v1/routing-rules/{rule['id']}", json={"active": False}, headers=admin
            )
            assert response.status_code == 200, response.text
    event = desk.file()
    assert event["routing_state"] == "unrouted" and event["proposed_unit"] is None
    accepted = desk.act(event, "demo_operator", "accept")
    problem = desk.act(accepted, "demo_operator", "dispatch", expect=409)
    assert problem["type"].endswith("/unrouted")
    chosen = desk.act(
        accepted, "demo_operator", "dispatch", unit_id=world.handler_unit, note="人工指定"
    )
    assert chosen["status"] == "dispatched" and chosen["routing_state"] == "override"


def test_self_handling_is_for_level_one_and_closes_with_a_photo(desk: Desk, world: World) -> None:
    level2 = desk.file()
    problem = desk.act(level2, "demo_grid_worker", "self_handle", expect=409)
    assert problem["type"].endswith("/not-level-1")
    event = desk.file(level=1)
    assert "self_handle" in event["actions"]
    handled = desk.act(event, "demo_grid_worker", "self_handle")
    assert handled["status"] == "self_handled"
    assert desk.act(handled, "demo_grid_worker", "close", expect=422)["status"] == 422
    photo = desk.photo(handled, "demo_grid_worker", kind="after")
    handled = desk.get(handled)
    closed = desk.act(handled, "demo_grid_worker", "close", attachment_ids=[photo])
    assert closed["status"] == "closed"


def test_suspension_needs_approval_and_its_time_does_not_count(desk: Desk, clock: Any) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    due = datetime.fromisoformat(event["due_at"])
    asked = desk.act(event, "demo_handler", "request_suspend", note="等待鉴定结果")
    assert asked["status"] == "dispatched" and asked["pending_action"] == "suspend"
    assert desk.act(asked, "demo_handler", "approve", expect=403)["status"] == 403
    suspended = desk.act(asked, "demo_operator", "approve")
    assert suspended["status"] == "suspended"
    clock.advance(timedelta(hours=4))  # Tuesday 09:00 → 13:00: 3 working hours pass
    resumed = desk.act(suspended, "demo_operator", "resume")
    assert resumed["status"] == "dispatched" and resumed["paused_seconds"] == 4 * 3600
    assert datetime.fromisoformat(resumed["due_at"]) - due == timedelta(hours=3)


def test_void_needs_a_leader(desk: Desk) -> None:
    event = desk.file()
    asked = desk.act(event, "demo_operator", "request_void", note="测试数据")
    assert desk.act(asked, "demo_operator", "approve", expect=403)["status"] == 403
    denied = desk.act(asked, "demo_leader", "deny")
    assert denied["status"] == "reported" and denied["pending_action"] is None
    asked = desk.act(denied, "demo_operator", "request_void", note="测试数据")
    voided = desk.act(asked, "demo_leader", "approve")
    assert voided["status"] == "voided"
    assert desk.act(voided, "demo_operator", "accept", expect=409)["status"] == 409


def test_the_reporter_rates_once(desk: Desk) -> None:
    event = desk.to_handled(desk.file())
    closed = desk.verify_ok(event)
    assert desk.act(closed, "demo_operator", "rate", satisfaction=5, expect=403)["status"] == 403
    rated = desk.act(closed, "demo_grid_worker", "rate", satisfaction=4)
    assert rated["satisfaction"] == 4 and rated["status"] == "closed"
    assert desk.act(rated, "demo_grid_worker", "rate", satisfaction=5, expect=409)["status"] == 409


def test_editing_a_class_keeps_the_history_of_filed_events(
    desk: Desk, world: World, api: TestClient, auth: Any
) -> None:
    event = desk.file()
    old_name = event["category_name"]
    response = api.patch(
        f"/api/v1/categories/{world.handler_category}",
        json={"name_zh": "改名后的分类"},
        headers=auth("admin"),
    )
    assert response.status_code == 200, response.text
    assert desk.get(event)["category_name"] == old_name
    assert desk.file()["category_name"] == "改名后的分类"
    assert (
        api.patch(
            f"/api/v1/categories/{world.handler_category}",
            json={"name_zh": "x"},
            headers=auth("demo_operator"),
        ).status_code
        == 403
    )

"""Joint enforcement (联合执法): a lead unit (主办) and assisting units (协办) on one event, each
signing and feeding back its own part; the lead's feedback waits for every part."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope
from fengqiao.assessment.parts import part_counts
from fengqiao.assessment.service import Weights, assess
from fengqiao.auth.models import User, UserRole
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import Problem
from fengqiao.events.models import Event, EventLog, EventPart
from fengqiao.events.parts import check_assists
from fengqiao.events.trail import verify_rows
from fengqiao.notify.templates import render
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.models import Outbox
from fengqiao.taxonomy.snapshot import load_rules, rules_changed

from .conftest import START, Auth, Desk, World


def _town_of(db: Session, username: str) -> int:
    user = db.scalars(select(User).where(User.username == username)).one()
    org = db.get(OrgUnit, user.home_org_id)
    assert org is not None
    return int(org.path.strip("/").split("/")[1])


def outside(db: Session) -> int:
    """A unit of another town than the demo town's (the small district has one town: a second
    one is added in the test's transaction, and the rules told)."""
    town = db.get(OrgUnit, _town_of(db, "demo_grid_worker"))
    assert town is not None and town.parent_id is not None
    other = OrgUnit(code="T-OTHER", name="邻镇", kind="town", parent_id=town.parent_id, path="")
    db.add(other)
    db.flush()
    other.path = f"/{town.parent_id}/{other.id}/"
    unit = Unit(code="U-OTHER-1", name="邻镇执法中队", unit_type="law_enforcement_squadron",
                category="town_office", platform="enforcement", org_unit_id=other.id)  # fmt: skip
    db.add(unit)
    db.flush()
    rules_changed(db)
    return unit.id


def helper(db: Session, world: World) -> tuple[int, str]:
    """(unit id, a handler's username) of another unit of the demo town."""
    town = _town_of(db, "demo_grid_worker")
    rows = db.execute(
        select(Unit.id, User.username)
        .join(User, User.unit_id == Unit.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(
            UserRole.role == "handler",
            Unit.id != world.handler_unit,
            Unit.org_unit_id == town,
        )
        .order_by(Unit.id, User.id)
    ).first()
    assert rows is not None
    return rows.id, rows.username


def dispatched_jointly(desk: Desk, unit: int) -> dict[str, Any]:
    event = desk.act(desk.file(), "demo_operator", "accept")
    return desk.act(event, "demo_operator", "dispatch", assist_unit_ids=[unit])


def test_a_joint_event_closes_after_both_units_fed_back(
    desk: Desk, db: Session, world: World
) -> None:
    unit, assistant = helper(db, world)
    event = dispatched_jointly(desk, unit)
    assert event["assist_count"] == 1 and event["assist_open"] == 1
    lead, part = event["parts"]
    assert lead["role"] == "lead" and lead["unit"]["id"] == world.handler_unit
    assert part["role"] == "assist" and part["unit"]["id"] == unit
    assert part["status"] == "dispatched" and part["light"] == "green" and part["due_at"]
    # The assisting unit sees the event, may sign its part only, not the lead's.
    seen = desk.get(event, assistant)
    assert seen["actions"] == ["sign_part"]
    assert desk.act(event, assistant, "sign", expect=403)
    event = desk.act(event, assistant, "sign_part")
    assert event["status"] == "dispatched" and event["parts"][1]["status"] == "signed"
    event = desk.act(event, "demo_handler", "sign")
    photo = desk.photo(event, "demo_handler")
    event = desk.get(event)
    refused = desk.act(
        event, "demo_handler", "feedback", result="已取缔", attachment_ids=[photo], expect=409
    )
    assert refused["type"].endswith("/parts-open") and refused["errors"][0]["field"] == "parts"
    assert "feedback" not in desk.get(event, "demo_handler")["actions"]
    # The assisting unit's feedback needs its result and its own photo, as the lead's does.
    assert desk.act(event, assistant, "feedback_part", result="已配合", expect=422)
    mine = desk.photo(event, assistant)
    event = desk.get(event)
    event = desk.act(event, assistant, "feedback_part", result="已配合执法", attachment_ids=[mine])
    assert event["assist_open"] == 0 and event["parts"][1]["status"] == "fed_back"
    assert event["parts"][1]["photo_ids"] == [mine]
    event = desk.act(event, "demo_handler", "feedback", result="已取缔", attachment_ids=[photo])
    assert event["status"] == "handled"
    closed = desk.verify_ok(event)
    assert closed["status"] == "closed"
    actions = [r["action"] for r in closed["trail"]]
    assert actions[:6] == ["report", "accept", "dispatch", "sign_part", "sign", "attach"]
    assert "feedback_part" in actions and actions.index("feedback_part") < actions.index("feedback")
    assert [r["unit_id"] for r in closed["trail"] if r["action"].endswith("_part")] == [unit, unit]
    stored = db.get(Event, event["id"])
    assert stored is not None
    rows = [r.__dict__ for r in db.scalars(select(EventLog).where(EventLog.event_id == stored.id).order_by(EventLog.seq))]  # fmt: skip
    assert verify_rows(stored.id, rows, (stored.trail_seq, stored.trail_hash)) is None


def test_an_operator_waives_a_part_with_a_reason(desk: Desk, db: Session, world: World) -> None:
    unit, assistant = helper(db, world)
    event = desk.act(dispatched_jointly(desk, unit), "demo_handler", "sign")
    assert "waive_part" in event["actions"] or "waive_part" in desk.get(event)["actions"]
    no_reason = desk.act(event, "demo_operator", "waive_part", unit_id=unit, expect=422)
    assert no_reason["errors"][0]["field"] == "note"
    wrong = desk.act(event, "demo_operator", "waive_part", unit_id=world.handler_unit,
                     note="不需要", expect=422)  # fmt: skip
    assert wrong["errors"][0]["field"] == "unit_id"
    event = desk.act(event, "demo_operator", "waive_part", unit_id=unit, note="该单位已撤场")
    part = event["parts"][1]
    assert part["status"] == "waived" and part["waive_reason"] == "该单位已撤场"
    assert desk.get(event, assistant)["actions"] == []
    photo = desk.photo(event, "demo_handler")
    event = desk.get(event)
    handled = desk.act(event, "demo_handler", "feedback", result="已办", attachment_ids=[photo])
    assert handled["status"] == "handled"


def test_an_assisting_unit_outside_the_town_is_refused_and_nothing_is_stored(
    desk: Desk, db: Session, world: World
) -> None:
    outside_unit = outside(db)
    event = desk.act(desk.file(), "demo_operator", "accept")
    refused = desk.act(
        event, "demo_operator", "dispatch", assist_unit_ids=[outside_unit], expect=422
    )
    assert refused["errors"][0]["field"] == "assist_unit_ids"
    assert "不在事件所在镇街" in refused["errors"][0]["reason_zh"]
    assert refused["detail_zh"].startswith("协办单位")
    lead = desk.act(event, "demo_operator", "dispatch", assist_unit_ids=[world.handler_unit],
                    expect=422)  # fmt: skip
    assert lead["errors"][0]["field"] == "assist_unit_ids"
    stored = db.get(Event, event["id"])
    assert stored is not None and stored.status == "accepted" and stored.assist_count == 0
    assert db.scalar(select(EventPart.id).where(EventPart.event_id == stored.id)) is None


def test_a_joint_event_without_a_lead_is_refused(db: Session, world: World, desk: Desk) -> None:
    event = desk.act(desk.file(), "demo_operator", "accept")
    stored = db.get(Event, event["id"])
    assert stored is not None
    with pytest.raises(Problem) as caught:
        check_assists(load_rules(db), stored, [world.handler_unit], lead=None)
    assert caught.value.errors[0].field == "unit_id"


def test_an_operator_adds_an_assisting_unit_after_dispatch(
    desk: Desk, db: Session, world: World, api: TestClient, auth: Auth
) -> None:
    unit, assistant = helper(db, world)
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    assert event["parts"] == [] and "feedback" not in event["actions"]
    assert desk.act(event, "demo_handler", "add_assist", assist_unit_ids=[unit], expect=403)
    event = desk.act(event, "demo_operator", "add_assist", assist_unit_ids=[unit])
    assert [p["role"] for p in event["parts"]] == ["lead", "assist"]
    again = desk.act(event, "demo_operator", "add_assist", assist_unit_ids=[unit], expect=422)
    assert again["errors"][0]["field"] == "assist_unit_ids"
    # The unit's to-do list shows the part with its light; another unit sees neither.
    todo = api.get("/api/v1/event-parts", headers=auth(assistant)).json()
    assert [i["event_id"] for i in todo["items"]] == [event["id"]]
    assert todo["items"][0]["light"] == "green"
    # The 协办 card shows the event's place as the lead's does: its grid, village and town.
    assert todo["items"][0]["event_grid"] == event["grid"] and event["grid"]
    assert todo["items"][0]["event_town"]["id"] == event["town"]["id"]
    assert api.get("/api/v1/event-parts", headers=auth("demo_handler")).json()["total"] == 0
    area = api.get("/api/v1/event-parts", headers=auth("demo_operator")).json()
    assert event["id"] in [i["event_id"] for i in area["items"]]
    listed = api.get("/api/v1/events", headers=auth(assistant)).json()["items"]
    assert event["id"] in [e["id"] for e in listed]


def test_routing_proposes_assisting_units(desk: Desk, db: Session, world: World) -> None:
    rules = load_rules(db)
    joint = [r.category_code for r in rules.rules if r.assist_unit_types and r.category_code]
    assert joint, "the default rules name assisting unit types"
    asked = [c for c in joint if not getattr(rules.intakes.get(c), "questions", ())]
    event = desk.act(desk.file(category=(asked or joint)[0]), "demo_operator", "accept")
    proposed = event["proposed_assist_units"]
    assert proposed and all(p["id"] != event["proposed_unit"]["id"] for p in proposed)


def test_a_units_assessment_counts_its_assisting_parts_as_parts(
    desk: Desk, db: Session, world: World
) -> None:
    unit, assistant = helper(db, world)
    event = desk.act(dispatched_jointly(desk, unit), assistant, "sign_part")
    mine = desk.photo(event, assistant)
    event = desk.get(event)
    desk.act(event, assistant, "feedback_part", result="已配合", attachment_ids=[mine])
    town = _town_of(db, "demo_grid_worker")
    day = START.astimezone(LOCAL_TZ).date()
    result = assess(db, scope=Scope("town", town), level="unit", start=day, end=day,
                    weights=Weights())  # fmt: skip
    row = next(r for r in result.rows if r.id == unit)
    assert row.counts["dispatched"] >= 1 and row.counts["closed"] >= 1
    assert row.counts["closed_on_time"] >= 1
    home = db.get(OrgUnit, town)
    assert home is not None
    counted = part_counts(db, path=home.path, start=day, end=day)
    assert counted[unit] == {"new": 1, "accepted": 1, "dispatched": 1, "handled": 1, "closed": 1,
                             "handle_seconds": 0, "closed_on_time": 1}  # fmt: skip
    # The region counts the event once: parts never enter the rollups' region counters.
    assert world.handler_unit not in counted


def test_a_voided_joint_event_ends_its_open_parts(
    desk: Desk, db: Session, world: World, api: TestClient, auth: Auth
) -> None:
    unit, assistant = helper(db, world)
    event = dispatched_jointly(desk, unit)
    assert api.get("/api/v1/event-parts", headers=auth(assistant)).json()["total"] == 1
    asked = desk.act(event, "demo_operator", "request_void", note="重复上报")
    voided = desk.act(asked, "demo_leader", "approve")
    assert voided["status"] == "voided" and voided["assist_open"] == 0
    part = voided["parts"][1]
    assert part["status"] == "ended" and part["light"] is None
    # Nothing left to do for the assisting unit: not on its list, no step, nothing swept.
    todo = api.get("/api/v1/event-parts", headers=auth(assistant)).json()
    assert todo["total"] == 0
    assert desk.get(voided, assistant)["actions"] == []
    row = db.scalars(select(EventPart).where(EventPart.event_id == event["id"])).one()
    assert row.status == "ended"


def test_the_assisting_units_message_names_the_lead_unit(
    desk: Desk, db: Session, world: World
) -> None:
    """The dispatch that sets the lead also makes the parts: their message names that lead, not
    the 指挥室 fallback of an event without an owner."""
    unit, _ = helper(db, world)
    event = dispatched_jointly(desk, unit)
    lead = db.get(Unit, world.handler_unit)
    assert lead is not None
    rows = db.scalars(
        select(Outbox).where(Outbox.event_id == event["id"], Outbox.template == "assist_dispatched")
    ).all()
    assert rows
    for row in rows:
        _, text = render("assist_dispatched", row.payload)
        assert f"由{lead.name}主办" in text and "指挥室" not in text

"""Dispatch only to units that serve the event: its village's, its town's, the district's
departments (issue 15: a 柯桥街道 event went to 柯岩街道's squadron, whose handler could read and
sign it while it never showed in that unit's inbox). Whatever a unit owns shows in its inbox."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.events.models import Event, EventLog
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.taxonomy.models import RoutingRule
from fengqiao.taxonomy.snapshot import rules_changed
from tests.scope_world import Towns, api, clock, file_event, towns  # noqa: F401  (fixtures)


def _act(api: TestClient, auth: Any, event: dict[str, Any], user: str, action: str,
         **fields: Any) -> Any:  # fmt: skip
    return api.post(
        f"/api/v1/events/{event['id']}/transitions",
        json={"action": action, "version": event["version"], **fields},
        headers=auth(user),
    )


def _handler_of(db: Session, unit_id: int) -> str:
    username = db.scalar(
        select(User.username).where(User.unit_id == unit_id).order_by(User.id).limit(1)
    )
    assert username is not None, f"no handler in unit {unit_id}"
    return username


def _inbox(api: TestClient, auth: Any, user: str) -> list[int]:
    response = api.get("/api/v1/events", params={"task": "inbox"}, headers=auth(user))
    assert response.status_code == 200, response.text
    return [e["id"] for e in response.json()["items"]]


def test_dispatch_to_another_towns_unit_is_refused_and_changes_nothing(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    event = file_event(api, auth, towns, towns.home_town, dispatch=False)
    trail = db.scalar(select(func.count()).where(EventLog.event_id == event["id"]))
    response = _act(
        api, auth, event, "demo_operator", "dispatch", unit_id=towns.other_squadron,
        note="试试派给邻镇",
    )  # fmt: skip
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["errors"][0]["field"] == "unit_id"
    assert "serve" in problem["errors"][0]["reason"] and "交办" in problem["errors"][0]["reason_zh"]
    db.expire_all()
    stored = db.get(Event, event["id"])
    assert stored is not None
    assert (stored.status, stored.owner_unit_id, stored.version) == (
        "accepted",
        None,
        event["version"],
    )
    assert db.scalar(select(func.count()).where(EventLog.event_id == event["id"])) == trail
    # The other town's handler cannot read it either.
    assert api.get(f"/api/v1/events/{event['id']}", headers=auth("ky_handler")).status_code == 404


def test_each_kind_of_serving_unit_sees_it_in_its_inbox_and_signs(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    village = db.scalar(
        select(OrgUnit.parent_id)
        .join(User, User.home_org_id == OrgUnit.id)
        .where(User.username == "demo_grid_worker")
    )
    committee = db.scalar(select(Unit.id).where(Unit.org_unit_id == village).limit(1))
    assert committee is not None
    for unit_id in (towns.home_squadron, committee, towns.district_unit):
        event = file_event(api, auth, towns, towns.home_town, dispatch=False)
        handler = _handler_of(db, unit_id)
        assert event["id"] not in _inbox(api, auth, handler)
        response = _act(
            api, auth, event, "demo_operator", "dispatch", unit_id=unit_id, note="按职责交办"
        )
        assert response.status_code == 200, response.text
        assert event["id"] in _inbox(api, auth, handler), (unit_id, handler)
        signed = _act(api, auth, response.json(), handler, "sign")
        assert signed.status_code == 200, signed.text
        assert signed.json()["status"] == "signed"


def test_a_village_committee_of_another_village_is_refused(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    event = file_event(api, auth, towns, towns.home_town, dispatch=False)
    stored = db.get(Event, event["id"])
    assert stored is not None
    elsewhere = db.scalar(
        select(Unit.id)
        .join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(OrgUnit.kind == "village", OrgUnit.id != stored.village_id,
               OrgUnit.parent_id == towns.home_town)
        .limit(1)
    )  # fmt: skip
    assert elsewhere is not None
    response = _act(api, auth, event, "demo_operator", "dispatch", unit_id=elsewhere, note="试试")
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "unit_id"


def test_a_routing_rule_naming_another_towns_unit_does_not_route_there(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    """An administrator's rule that names a fixed unit of another town proposes nothing for
    this town's events (the operator picks a serving unit), and dispatch refuses it."""
    first = db.scalar(select(func.min(RoutingRule.position))) or 0
    db.add(
        RoutingRule(position=first - 1, category_code=towns.category, unit_id=towns.other_squadron,
                    active=True, note="错误的规则")
    )  # fmt: skip
    rules_changed(db)
    db.commit()
    event = file_event(api, auth, towns, towns.home_town, dispatch=False)
    stored = db.get(Event, event["id"])
    assert stored is not None and stored.proposed_unit_id != towns.other_squadron
    response = _act(api, auth, event, "demo_operator", "dispatch")
    assert response.status_code in (409, 422), response.text
    db.expire_all()
    assert db.get(Event, event["id"]).owner_unit_id is None  # type: ignore[union-attr]
    # The other town's events still follow the rule.
    theirs = file_event(api, auth, towns, towns.other_town)
    assert theirs["owner_unit"]["id"] == towns.other_squadron


def test_a_handler_sees_their_units_events_and_what_they_acted_on(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    """Handlers read their unit's events and the ones they took a step on, not their town's."""
    waiting = file_event(api, auth, towns, towns.home_town, dispatch=False)
    mine = towns.events[towns.home_town]
    assert mine["owner_unit"]["id"] == towns.home_squadron
    listed = api.get("/api/v1/events", params={"size": 200}, headers=auth("demo_handler")).json()
    ids = {e["id"] for e in listed["items"]}
    assert mine["id"] in ids and waiting["id"] not in ids
    assert (
        api.get(f"/api/v1/events/{waiting['id']}", headers=auth("demo_handler")).status_code == 404
    )
    # Returned to the command room, the event leaves the unit but stays readable to the handler
    # who returned it.
    returned = _act(api, auth, mine, "demo_handler", "return", note="不属本单位职责")
    assert returned.status_code == 200, returned.text
    listed = api.get("/api/v1/events", params={"size": 200}, headers=auth("demo_handler")).json()
    assert mine["id"] in {e["id"] for e in listed["items"]}
    assert api.get(f"/api/v1/events/{mine['id']}", headers=auth("demo_handler")).status_code == 200
    assert mine["id"] not in _inbox(api, auth, "demo_handler")


def test_an_administrator_cannot_write_a_rule_naming_a_unit_that_does_not_serve_it(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    """The same rule as dispatch, when the rule is written: another town's unit, or a town's
    unit in a rule for every town, is refused on unit_id and nothing is stored."""
    admin = auth("admin")
    last = (db.scalar(select(func.max(RoutingRule.position))) or 0) + 10
    before = db.scalar(select(func.count()).select_from(RoutingRule))
    cases = [
        {"town_id": towns.home_town, "unit_id": towns.other_squadron},
        {"unit_id": towns.other_squadron},  # every town
    ]
    for n, place in enumerate(cases):
        body = {"position": last + n, "category_code": towns.category, **place}
        refused = api.post("/api/v1/routing-rules", json=body, headers=admin)
        assert refused.status_code == 422, refused.text
        assert refused.json()["errors"][0]["field"] == "unit_id"
        assert "不负责" in refused.json()["errors"][0]["reason_zh"]
    assert db.scalar(select(func.count()).select_from(RoutingRule)) == before
    body = {"position": last + 5, "category_code": towns.category, "town_id": towns.other_town,
            "unit_id": towns.other_squadron}  # fmt: skip
    assert api.post("/api/v1/routing-rules", json=body, headers=admin).status_code == 201

"""Joint operations (联合行动, issue 20 item 1): operators plan one in their town with its units,
people, place and time, link the events it takes on (scope-checked), record its results and
quantities; leaders read; another town's operator sees nothing of it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import FixedClock
from fengqiao.jointops.models import JointOperation, JointOperationLog
from fengqiao.org.models import OrgUnit, Unit
from tests.events.conftest import Desk, World
from tests.rooms.test_rooms import operator_of, towns

Auth = Any


def _town(db: Session, world: World) -> OrgUnit:
    operator = db.get(User, world.ids["demo_operator"])
    assert operator is not None
    town = db.get(OrgUnit, operator.home_org_id)
    assert town is not None and town.kind == "town"
    return town


def _units(db: Session, town: OrgUnit) -> list[int]:
    return list(db.scalars(select(Unit.id).where(Unit.org_unit_id == town.id).order_by(Unit.id)))


def plan(api: TestClient, auth: Auth, clock: FixedClock, town: OrgUnit, units: list[int], *,
         user: str = "demo_operator", expect: int = 201, **fields: Any) -> dict[str, Any]:  # fmt: skip
    start = clock.now() + timedelta(days=1)
    body = {
        "name": "夜间占道经营联合整治", "org_id": town.id, "lead_unit_id": units[0],
        "unit_ids": units[1:3], "people": 24, "place": "柯桥街道夜市一带",
        "lat": 30.08, "lng": 120.49, "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=4)).isoformat(), **fields,
    }  # fmt: skip
    response = api.post("/api/v1/joint-operations", json=body, headers=auth(user))
    assert response.status_code == expect, response.text
    return dict(response.json())


def test_plan_link_and_record_results(
    api: TestClient, auth: Auth, clock: FixedClock, db: Session, world: World, desk: Desk
) -> None:
    town = _town(db, world)
    units = _units(db, town)
    event = desk.file()
    op = plan(api, auth, clock, town, units, event_ids=[event["id"]])
    assert op["code"].startswith("LH-2026-") and op["status"] == "planned"
    assert [e["id"] for e in op["events"]] == [event["id"]]
    assert op["lead_unit"]["id"] == units[0] and len(op["units"]) == 2
    listed = api.get("/api/v1/joint-operations", headers=auth("demo_leader")).json()
    assert [i["id"] for i in listed["items"]] == [op["id"]]
    assert api.post(f"/api/v1/joint-operations/{op['id']}/results", headers=auth("demo_leader"),
                    json={"version": op["version"], "results": "x"}).status_code == 403  # fmt: skip
    second = desk.file()
    body = {"version": op["version"], "results": "取缔流动摊贩12处，劝离占道经营30起",
            "quantities": [{"name": "取缔流动摊贩", "unit": "处", "value": 12},
                           {"name": "劝离占道经营", "unit": "起", "value": 30}],
            "event_ids": [second["id"]]}  # fmt: skip
    early = api.post(f"/api/v1/joint-operations/{op['id']}/results", json=body,
                     headers=auth("demo_operator"))  # fmt: skip
    assert early.status_code == 409, early.text
    problem = early.json()
    assert problem["errors"][0]["field"] == "starts_at" and "尚未开始" in early.text
    clock.advance(timedelta(days=1, minutes=1))
    done = api.post(f"/api/v1/joint-operations/{op['id']}/results", json=body,
                    headers=auth("demo_operator"))  # fmt: skip
    assert done.status_code == 200, done.text
    result = done.json()
    assert result["status"] == "done" and result["quantities"][0]["value"] == 12
    assert {e["id"] for e in result["events"]} == {event["id"], second["id"]}
    assert [r["action"] for r in result["trail"]] == ["plan", "record"]
    stale = api.post(f"/api/v1/joint-operations/{op['id']}/results", json=body,
                     headers=auth("demo_operator"))  # fmt: skip
    assert stale.status_code == 409


def test_bad_input_is_refused_naming_the_field_and_stores_nothing(
    api: TestClient, auth: Auth, clock: FixedClock, db: Session, world: World
) -> None:
    _district, town, other = towns(db, world)
    units = _units(db, town)
    stranger = Unit(code="U-HT-1", name="湖塘执法中队", unit_type="law_enforcement_squadron",
                    category="town_office", platform="enforcement", org_unit_id=other.id)  # fmt: skip
    db.add(stranger)
    db.flush()
    before = db.scalar(select(JointOperation.id).order_by(JointOperation.id.desc()))
    outside = plan(api, auth, clock, town, units, unit_ids=[stranger.id], expect=422)
    assert outside["errors"][0]["field"] == "unit_ids[0]"
    twice = plan(api, auth, clock, town, units, unit_ids=[units[0]], expect=422)
    assert twice["errors"][0]["field"] == "unit_ids"
    backwards = plan(api, auth, clock, town, units, ends_at=clock.now().isoformat(), expect=422)
    assert backwards["errors"]
    foreign = plan(api, auth, clock, other, units, expect=403)
    assert foreign["status"] == 403
    too_many = plan(api, auth, clock, town, units, unit_ids=list(range(1, 30)), expect=422)
    assert too_many["errors"][0]["field"].startswith("unit_ids")
    assert db.scalar(select(JointOperation.id).order_by(JointOperation.id.desc())) == before
    assert db.scalar(select(JointOperationLog.id).limit(1)) is None


def test_another_towns_operator_sees_nothing_and_cannot_link_its_events(
    api: TestClient, auth: Auth, clock: FixedClock, db: Session, world: World, desk: Desk
) -> None:
    _district, town, other = towns(db, world)
    op = plan(api, auth, clock, town, _units(db, town))
    them = operator_of(db, other)
    assert api.get("/api/v1/joint-operations", headers=auth(them)).json()["total"] == 0
    assert api.get(f"/api/v1/joint-operations/{op['id']}", headers=auth(them)).status_code == 404
    assert api.get(f"/api/v1/joint-operations/{op['id']}",
                   headers=auth("demo_district_operator")).status_code == 200  # fmt: skip
    # An event id the caller cannot see is refused by name, as one of another town would be.
    refused = api.post(f"/api/v1/joint-operations/{op['id']}/events",
                       json={"version": op["version"], "event_ids": [10**9]},
                       headers=auth("demo_operator"))  # fmt: skip
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "event_ids"


def test_codes_follow_the_years_highest(
    api: TestClient, auth: Auth, clock: FixedClock, db: Session, world: World
) -> None:
    town = _town(db, world)
    units = _units(db, town)
    first = plan(api, auth, clock, town, units)
    stored = db.get(JointOperation, first["id"])
    assert stored is not None
    stored.code = "LH-2026-0041"  # a seeded history numbers its own
    db.flush()
    assert plan(api, auth, clock, town, units)["code"] == "LH-2026-0042"

"""Meetings, joint operations, rooms and campaigns above the district: a city home creates
city-level ones scoped to its subtree with units of its districts; a district home cannot;
below the city, the town of an area and a town's district departments are found whatever the
depth of the tree."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.org.models import OrgUnit, Unit
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"


def _town_unit(db: Session, world: World, district: str) -> Unit:
    unit = db.scalars(
        select(Unit).where(Unit.org_unit_id == world.towns[district]).order_by(Unit.id)
    ).first()
    assert unit is not None
    return unit


def test_a_city_plans_a_joint_operation_with_units_of_its_districts(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    start = clock.now() + timedelta(days=1)
    body = {"name": "全市联合整治", "org_id": world.city, "lead_unit_id": world.department[KQ],
            "unit_ids": [world.department[YC]], "people": 20, "place": "绍兴市区",
            "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=4)).isoformat(),
            "event_ids": [world.events[KQ]["id"], world.events[YC]["id"]]}  # fmt: skip
    # A district operator may not plan for the city.
    assert api.post("/api/v1/joint-operations", json=body,
                    headers=auth("kq_operator")).status_code == 403  # fmt: skip
    made = api.post("/api/v1/joint-operations", json=body, headers=auth("sx_operator"))
    assert made.status_code == 201, made.text
    assert made.json()["org"]["id"] == world.city
    # A district's operation takes its own units only, not the district next door's.
    own = body | {"org_id": world.districts[KQ], "unit_ids": [world.department[YC]],
                  "event_ids": []}  # fmt: skip
    refused = api.post("/api/v1/joint-operations", json=own, headers=auth("kq_operator"))
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "unit_ids[0]"
    # A town's operation below a city and province takes its district's departments.
    town = own | {"org_id": world.towns[KQ], "lead_unit_id": _town_unit(db, world, KQ).id,
                  "unit_ids": [world.department[KQ]]}  # fmt: skip
    made = api.post("/api/v1/joint-operations", json=town, headers=auth("kq_operator"))
    assert made.status_code == 201, made.text
    # ... and refuses the other district's department.
    other = town | {"unit_ids": [world.department[YC]]}
    assert api.post("/api/v1/joint-operations", json=other,
                    headers=auth("kq_operator")).status_code == 422  # fmt: skip


def test_a_city_campaign_covers_the_towns_of_its_districts(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    today = clock.now().date()
    body = {"name": "全市违章整治", "org_id": world.city, "classes": [world.category],
            "start_date": today.isoformat(), "end_date": (today + timedelta(days=30)).isoformat(),
            "measures": [{"name": "拆除违章", "unit": "处", "classes": [world.category],
                          "target": 10}]}  # fmt: skip
    assert api.post("/api/v1/campaigns", json=body, headers=auth("yc_operator")).status_code == 403
    made = api.post("/api/v1/campaigns", json=body, headers=auth("sx_operator"))
    assert made.status_code == 201, made.text
    towns = set(db.scalars(select(OrgUnit.id).where(OrgUnit.kind == "town")))
    assert {t["id"] for t in made.json()["towns"]} == towns  # every town of both districts
    assert {world.towns[KQ], world.towns[YC]} <= towns
    # Naming one town of the city is allowed; a district's campaign cannot name the other's.
    one = api.post("/api/v1/campaigns", json=body | {"town_ids": [world.towns[YC]]},
                   headers=auth("sx_operator"))  # fmt: skip
    assert one.status_code == 201 and [t["id"] for t in one.json()["towns"]] == [world.towns[YC]]
    cross = body | {"org_id": world.districts[KQ], "town_ids": [world.towns[YC]]}
    assert api.post("/api/v1/campaigns", json=cross, headers=auth("zj_admin")).status_code == 403


def test_city_and_province_meetings(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    when = (clock.now() + timedelta(days=2)).isoformat()
    body = {"org_id": world.city, "title": "全市分析研判会商", "scheduled_at": when}
    assert api.post("/api/v1/meetings", json=body, headers=auth("kq_leader")).status_code == 403
    made = api.post("/api/v1/meetings", json=body, headers=auth("sx_leader"))
    assert made.status_code == 201, made.text
    assert (made.json()["level"], made.json()["level_name"]) == ("city", "市级")
    assert made.json()["town"] is None
    province = api.post("/api/v1/meetings", json=body | {"org_id": world.province},
                        headers=auth("zj_leader"))  # fmt: skip
    assert province.status_code == 201 and province.json()["level_name"] == "省级"
    listed = api.get("/api/v1/meetings", params={"level": "city"}, headers=auth("sx_leader"))
    assert listed.status_code == 200 and [m["id"] for m in listed.json()["items"]] == [
        made.json()["id"]
    ]
    # The district's leaders do not see the city's meeting in their list.
    theirs = api.get("/api/v1/meetings", params={"level": "city"}, headers=auth("kq_leader"))
    assert theirs.status_code == 200 and theirs.json()["items"] == []
    # A town's meeting below a city and province knows its town (not the city's id).
    town = api.post("/api/v1/meetings", json=body | {"org_id": world.towns[YC]},
                    headers=auth("yc_leader"))  # fmt: skip
    assert town.status_code == 201, town.text
    assert town.json()["town"]["id"] == world.towns[YC]


def test_a_city_home_lists_and_opens_rooms_down_to_its_districts(
    api: TestClient, auth: Auth, world: World
) -> None:
    rooms = api.get("/api/v1/rooms", headers=auth("sx_operator"))
    assert rooms.status_code == 200, rooms.text
    names = {r["org_id"]: r["name"] for r in rooms.json()}
    assert names == {
        world.city: "绍兴市社会治理中心",
        world.districts[KQ]: "柯桥区社会治理中心",
        world.districts[YC]: "越城区社会治理中心",
    }
    opened = api.post(
        f"/api/v1/rooms/{world.city}/sessions",
        json={"title": "全市会商", "invited_org_ids": [world.districts[YC]]},
        headers=auth("sx_operator"),
    )
    assert opened.status_code == 201, opened.text
    # A district operator may not open the city's room.
    assert api.post(f"/api/v1/rooms/{world.city}/sessions", json={"title": "越权"},
                    headers=auth("kq_operator")).status_code == 403  # fmt: skip
    # The district's own list still goes down to its towns and villages.
    district = api.get("/api/v1/rooms", headers=auth("yc_operator")).json()
    assert {r["kind"] for r in district} >= {"district", "town", "village"}

"""Two districts in one database under a city and a province: each district's people see only
their district, the city's and province's see both, one level down (a city by district)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.rollups import apply_pending
from fengqiao.assessment import bulletin
from fengqiao.clock import FixedClock
from fengqiao.config import Settings
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.warnings.models import EarlyWarning
from tests.province.world import Auth, World

KQ, YC = "330603", "330602"


def event_ids(api: TestClient, auth: Auth, user: str) -> set[int]:
    response = api.get("/api/v1/events", params={"size": 100}, headers=auth(user))
    assert response.status_code == 200, response.text
    return {item["id"] for item in response.json()["items"]}


def test_tree_paths_and_routing_stay_in_each_district(db: Session, world: World) -> None:
    district = db.get(OrgUnit, world.districts[KQ])
    assert district is not None
    assert district.path == f"/{world.province}/{world.city}/{district.id}/"
    for code in (KQ, YC):
        event = world.events[code]
        assert event["town"]["id"] == world.towns[code]
        stored = db.get(Event, event["id"])
        assert stored is not None
        # The class goes to a department of the district: each district's own, never the other's.
        assert stored.proposed_unit_id == world.department[code], code


def test_event_lists_district_user_never_sees_the_other(
    api: TestClient, auth: Auth, world: World
) -> None:
    kq, yc = world.events[KQ]["id"], world.events[YC]["id"]
    kq_sees, yc_sees = event_ids(api, auth, "kq_operator"), event_ids(api, auth, "yc_operator")
    assert kq in kq_sees and yc not in kq_sees
    assert yc in yc_sees and kq not in yc_sees
    assert {kq, yc} <= event_ids(api, auth, "sx_operator")
    assert {kq, yc} <= event_ids(api, auth, "zj_leader")
    # One event read directly: the other district's is outside the caller's scope.
    assert api.get(f"/api/v1/events/{kq}", headers=auth("yc_operator")).status_code in (403, 404)
    assert api.get(f"/api/v1/events/{kq}", headers=auth("sx_operator")).status_code == 200


def test_map_grids_layer_by_scope(db: Session, api: TestClient, auth: Auth, world: World) -> None:
    def grid_codes(user: str) -> set[str]:
        response = api.get("/api/v1/grids/geojson", headers=auth(user))
        assert response.status_code == 200, response.text
        return {f["properties"]["code"] for f in json.loads(response.content)["features"]}

    yc, kq, city = grid_codes("yc_operator"), grid_codes("kq_operator"), grid_codes("sx_operator")
    assert yc == {"330602001001001"}
    assert kq and all(code.startswith(KQ) for code in kq)
    assert city == yc | kq


def test_charts_at_city_scope_break_down_by_district(
    bound: Any, api: TestClient, auth: Auth, world: World
) -> None:
    apply_pending(bound)
    params = {"from": "2026-11-01", "to": "2026-12-01"}
    city = api.get("/api/v1/analytics/charts/areas_ranked", params=params,
                   headers=auth("sx_leader"))  # fmt: skip
    assert city.status_code == 200, city.text
    body = city.json()
    assert body["scope"]["level"] == "city" and body["level"] == "district"
    new = dict(zip(body["x"], body["series"][1]["data"], strict=True))
    assert new == {"越城区": 1, "柯桥区": new["柯桥区"]} and new["柯桥区"] >= 1
    province = api.get("/api/v1/analytics/charts/areas_ranked", params=params,
                       headers=auth("zj_leader")).json()  # fmt: skip
    assert province["level"] == "city" and province["x"] == ["绍兴市"]
    assert province["series"][1]["data"] == [sum(new.values())]
    # A district's own leader counts only its district's events.
    yc = api.get("/api/v1/analytics/charts/areas_ranked", params=params,
                 headers=auth("yc_leader")).json()  # fmt: skip
    assert yc["level"] == "town" and yc["x"] == ["府山街道"] and yc["series"][1]["data"] == [1]
    refused = api.get(
        "/api/v1/analytics/charts/areas_ranked",
        params={**params, "scope": world.districts[KQ]},
        headers=auth("yc_leader"),
    )
    assert refused.status_code == 403


def test_assessment_ranks_a_city_s_districts(
    bound: Any, api: TestClient, auth: Auth, world: World
) -> None:
    apply_pending(bound)
    params = {"level": "district", "from": "2026-12-01", "to": "2026-12-01"}
    response = api.get("/api/v1/assessment", params=params, headers=auth("sx_leader"))
    assert response.status_code == 200, response.text
    rows = {row["name"]: row for row in response.json()["rows"]}
    assert set(rows) == {"柯桥区", "越城区"}
    assert rows["越城区"]["counts"]["new"] == 1
    # A district has no districts to rank.
    assert (
        api.get("/api/v1/assessment", params=params, headers=auth("yc_leader")).status_code == 422
    )


def test_bulletin_of_the_city_ranks_districts(
    db: Session, bound: Any, settings: Settings, clock: FixedClock, world: World
) -> None:
    apply_pending(bound)
    day = clock.now().date()
    now = clock.now() + timedelta(hours=1)
    city = bulletin.build(db, day=day, now=now, settings=settings,
                          scope=bulletin.reader_scope(db, world.city))  # fmt: skip
    assert city["region_word"] == "县（市、区）"  # 建德市 and 淳安县 are ranked too
    assert {row["name"] for row in city["towns"]} == {"柯桥区", "越城区"}
    assert city["totals"]["day"]["new"] >= 2
    yc = bulletin.build(db, day=day, now=now, settings=settings,
                        scope=bulletin.reader_scope(db, world.districts[YC]))  # fmt: skip
    assert yc["totals"]["day"]["new"] == 1 and [r["name"] for r in yc["towns"]] == ["府山街道"]
    # Three weeks on, both districts' events are overdue: above the district a town is named
    # with its district (a province's town names repeat), a district names its towns alone.
    later = day + timedelta(days=21)
    late = bulletin.build(db, day=later, now=now + timedelta(days=21), settings=settings,
                          scope=bulletin.reader_scope(db, world.city))  # fmt: skip
    places = {item["town"] for item in late["overdue"]["items"]}
    assert {"柯桥区·柯桥街道", "越城区·府山街道"} <= places, late["overdue"]
    own = bulletin.build(db, day=later, now=now + timedelta(days=21), settings=settings,
                         scope=bulletin.reader_scope(db, world.districts[YC]))  # fmt: skip
    assert {item["town"] for item in own["overdue"]["items"]} == {"府山街道"}, own["overdue"]
    # The job's first bulletin is the root's (the province), and every level issues its own.
    scopes = bulletin.issuing_scopes(db)
    assert scopes[0].org_id == world.province
    assert {world.city, *world.districts.values()} <= {s.org_id for s in scopes}


def test_warning_of_one_district_is_not_the_other_s(
    db: Session, api: TestClient, auth: Auth, clock: FixedClock, world: World
) -> None:
    village = db.get(OrgUnit, world.villages[YC])
    assert village is not None
    db.add(EarlyWarning(
        kind="spike", org_id=village.id, org_path=village.path, town_id=world.towns[YC],
        village_id=village.id, window_start=clock.now() - timedelta(days=1),
        window_end=clock.now(), observed=5, expected=1.0, score=3.0, message="府山社区事件激增",
        dedupe_key="test-yc-spike", created_at=clock.now(),
    ))  # fmt: skip
    db.commit()

    def warnings(user: str) -> list[str]:
        response = api.get("/api/v1/warnings", headers=auth(user))
        assert response.status_code == 200, response.text
        return [w["message"] for w in response.json()["items"]]

    assert "府山社区事件激增" in warnings("yc_operator")
    assert "府山社区事件激增" in warnings("sx_operator")
    assert "府山社区事件激增" not in warnings("kq_operator")
    found = db.scalar(select(EarlyWarning.id).where(EarlyWarning.dedupe_key == "test-yc-spike"))
    assert api.get(f"/api/v1/warnings/{found}", headers=auth("kq_operator")).status_code in (
        403,
        404,
    )

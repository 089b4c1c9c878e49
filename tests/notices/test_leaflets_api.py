"""Leaflets (宣传折页, issue 19 item 6): an operator starts a campaign, grid workers record the
households of their grids once each, and the coverage per grid is households reached against
the households the org tree counts, in the caller's scope only."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.notices.leaflets import household_key
from fengqiao.notices.models import LeafletDelivery
from fengqiao.org.models import OrgUnit
from tests.events.conftest import World
from tests.rooms.test_rooms import towns

Auth = Any


def campaign(api: TestClient, auth: Auth, org_id: int, *, user: str = "demo_operator",
             expect: int = 201, **fields: Any) -> dict[str, Any]:  # fmt: skip
    body = {"org_id": org_id, "name": "防电信诈骗宣传折页", "copies": 250000, **fields}
    response = api.post("/api/v1/leaflets/campaigns", json=body, headers=auth(user))
    assert response.status_code == expect, response.text
    return dict(response.json())


def deliver(api: TestClient, auth: Auth, campaign_id: int, grid_id: int, household: str, *,
            user: str = "demo_grid_worker", expect: int = 201) -> dict[str, Any]:  # fmt: skip
    response = api.post(f"/api/v1/leaflets/campaigns/{campaign_id}/deliveries",
                        json={"grid_id": grid_id, "household": household}, headers=auth(user))  # fmt: skip
    assert response.status_code == expect, response.text
    return dict(response.json())


def worker_grid(db: Session, world: World) -> OrgUnit:
    user = db.get(User, world.ids["demo_grid_worker"])
    assert user is not None
    grid = db.get(OrgUnit, user.home_org_id)
    assert grid is not None and grid.kind == "grid"
    return grid


def test_each_household_is_recorded_once_per_campaign(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    _, town, _ = towns(db, world)
    grid = worker_grid(db, world)
    made = campaign(api, auth, town.id)
    first = deliver(api, auth, made["id"], grid.id, "甲区3幢 201室")
    assert (
        first["household"] == "甲区3幢 201室"
        and first["delivered_by"]["id"] == world.ids["demo_grid_worker"]
    )
    twice = deliver(
        api, auth, made["id"], grid.id, "甲区３幢201室", expect=409
    )  # full-width, no space
    assert twice["title_zh"] == "该户已发放" and "每户只登记一次" in twice["detail_zh"]
    deliver(api, auth, made["id"], grid.id, "甲区3幢 202室")
    count = db.scalar(select(func.count()).select_from(LeafletDelivery)
                      .where(LeafletDelivery.campaign_id == made["id"]))  # fmt: skip
    assert count == 2
    # Another campaign may reach the same door again.
    second = campaign(api, auth, town.id, name="垃圾分类宣传", copies=1000)
    deliver(api, auth, second["id"], grid.id, "甲区3幢 201室")
    known = api.get(f"/api/v1/leaflets/campaigns/{second['id']}/households",
                    params={"grid_id": grid.id}, headers=auth("demo_grid_worker")).json()  # fmt: skip
    known = [k for k in known if k["household"].startswith("甲区")]  # not the demo's doors
    assert known == [{"household": "甲区3幢 201室", "delivered": True},
                     {"household": "甲区3幢 202室", "delivered": False}]  # fmt: skip
    assert household_key(" ３幢 201室 ") == household_key("3幢201室")


def test_coverage_per_grid_is_reached_over_the_grids_households(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    _, town, _ = towns(db, world)
    grid = worker_grid(db, world)
    grid.households = 120
    db.flush()
    made = campaign(api, auth, town.id)
    for door in ("1号", "2号", "3号"):
        deliver(api, auth, made["id"], grid.id, door)
    answer = api.get(f"/api/v1/leaflets/campaigns/{made['id']}/coverage",
                     headers=auth("demo_operator")).json()  # fmt: skip
    row = next(r for r in answer["grids"] if r["grid"]["id"] == grid.id)
    assert (row["households"], row["reached"], row["rate"]) == (120, 3, 0.025)
    assert answer["grids"][0]["grid"]["id"] == grid.id  # the worked grid first
    town_households = db.scalar(select(func.sum(OrgUnit.households)).where(
        OrgUnit.kind == "grid", OrgUnit.path.startswith(town.path)))  # fmt: skip
    assert answer["households"] == town_households and answer["reached"] == 3
    # The grid worker's coverage is their own grid's.
    mine = api.get(f"/api/v1/leaflets/campaigns/{made['id']}/coverage",
                   headers=auth("demo_grid_worker")).json()  # fmt: skip
    assert [r["grid"]["id"] for r in mine["grids"]] == [grid.id]
    assert (mine["households"], mine["reached"]) == (120, 3)
    listed = api.get("/api/v1/leaflets/campaigns", headers=auth("demo_grid_worker")).json()
    assert listed[0]["id"] == made["id"] and listed[0]["delivered"] == 3
    assert listed[0]["households"] == 120


def test_scope_of_campaigns_deliveries_and_coverage(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    district, town, other = towns(db, world)
    grid = worker_grid(db, world)
    refused = campaign(api, auth, other.id, expect=403)
    assert refused["title_zh"] == "超出管辖范围"
    theirs = campaign(api, auth, other.id, user=f"op{other.code}_1", name="别镇宣传")
    assert api.get(f"/api/v1/leaflets/campaigns/{theirs['id']}/coverage",
                   headers=auth("demo_operator")).status_code == 404  # fmt: skip
    deliver(api, auth, theirs["id"], grid.id, "1号", expect=404)  # not a campaign of their area
    ids = {c["id"] for c in api.get("/api/v1/leaflets/campaigns",
                                    headers=auth("demo_operator")).json()}  # fmt: skip
    assert theirs["id"] not in ids
    # A district campaign reaches the town's workers; a grid outside their grids is refused.
    wide = campaign(api, auth, district.id, user="demo_district_operator", name="全区宣传")
    deliver(api, auth, wide["id"], grid.id, "5号")
    elsewhere = db.scalars(select(OrgUnit).where(
        OrgUnit.kind == "grid", OrgUnit.id != grid.id, OrgUnit.path.startswith(town.path))).first()  # fmt: skip
    assert elsewhere is not None
    assert (
        deliver(api, auth, wide["id"], elsewhere.id, "5号", expect=403)["title_zh"]
        == "超出管辖范围"
    )
    campaign(api, auth, town.id, user="demo_grid_worker", expect=403)
    deliver(api, auth, wide["id"], grid.id, "6号", user="demo_resident", expect=403)


def test_bounded_input(api: TestClient, auth: Auth, db: Session, world: World) -> None:
    _, town, _ = towns(db, world)
    grid = worker_grid(db, world)
    campaign(api, auth, town.id, name=None, expect=422)  # neither a name nor a notice
    campaign(api, auth, town.id, copies=0, expect=422)
    campaign(api, auth, town.id, name="名" * 101, expect=422)
    made = campaign(api, auth, town.id)
    long = deliver(api, auth, made["id"], grid.id, "门" * 101, expect=422)
    assert long["errors"][0]["field_zh"] == "户（门牌）"
    deliver(api, auth, made["id"], grid.id, "   ", expect=422)
    assert db.scalar(select(func.count()).select_from(LeafletDelivery)
                     .where(LeafletDelivery.campaign_id == made["id"])) == 0  # fmt: skip


def test_a_campaign_named_after_its_notice(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    _, town, _ = towns(db, world)
    made = api.post("/api/v1/notices", headers=auth("demo_operator"), json={
        "org_id": town.id, "title": "平安建设告居民书", "text": "正文",
        "valid_from": "2026-12-01", "valid_to": "2026-12-31"}).json()  # fmt: skip
    linked = campaign(api, auth, town.id, name=None, notice_id=made["id"])
    assert linked["name"] == "平安建设告居民书" and linked["notice_id"] == made["id"]

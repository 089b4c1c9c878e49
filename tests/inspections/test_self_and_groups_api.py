"""Towns' self-assessments (issue 20, item 5) and the supervision groups (item 4): a town's
operators record a self-assessment as a draft, change it, submit it (final), and only submitted
ones count; the district's five groups each cover their towns, a town in exactly one group at a
time, and only the district's administrators and leaders change them."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from fengqiao.inspections import service
from fengqiao.inspections.models import SelfAssessment, SelfAssessmentItem
from tests.events.conftest import World
from tests.inspections.helpers import demo_town, group_of, sheet

Auth = Any
YEAR = 2031  # a year the demo has no self-assessment of


def test_a_town_records_its_self_assessment_then_submits_it(
    api: TestClient, auth: Auth, db: Session
) -> None:
    town = demo_town(db)
    body = {"town_id": town.id, "year": YEAR, "scores": sheet(db, {0: "partly"})}
    draft = api.post(
        "/api/v1/inspections/self-assessments", json=body, headers=auth("demo_operator")
    )
    assert draft.status_code == 200, draft.text
    assert draft.json()["status"] == "draft" and draft.json()["score"] < 100
    assert town.id not in service.self_assessments(db=db, year=YEAR)  # a draft does not count
    scores = sheet(db)
    scores[2] |= {"evidence": "指挥室照片", "note": "已整改"}
    final = api.post("/api/v1/inspections/self-assessments", headers=auth("demo_leader"),
                     json=body | {"scores": scores, "submit": True})  # fmt: skip
    assert final.status_code == 200, final.text
    sheet_out = final.json()
    assert sheet_out["status"] == "submitted" and sheet_out["score"] == 100
    assert sheet_out["id"] == draft.json()["id"] and sheet_out["version"] == 2
    assert sheet_out["items"][2]["evidence"] == "指挥室照片"
    assert service.self_assessments(db=db, year=YEAR)[town.id] == 100
    again = api.post(
        "/api/v1/inspections/self-assessments", json=body, headers=auth("demo_operator")
    )
    assert again.status_code == 409
    listed = api.get("/api/v1/inspections/self-assessments", params={"year": YEAR},
                     headers=auth("demo_district_operator")).json()  # fmt: skip
    assert [s["town"]["id"] for s in listed] == [town.id]


def test_a_self_assessment_leaving_an_item_out_or_outside_the_callers_town_is_refused(
    api: TestClient, auth: Auth, db: Session
) -> None:
    town = demo_town(db)
    db.execute(delete(SelfAssessmentItem))
    db.execute(delete(SelfAssessment))
    db.commit()
    short = api.post("/api/v1/inspections/self-assessments", headers=auth("demo_operator"),
                     json={"town_id": town.id, "year": YEAR, "scores": sheet(db)[1:]})  # fmt: skip
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "scores"
    worker = api.post("/api/v1/inspections/self-assessments", headers=auth("demo_grid_worker"),
                      json={"town_id": town.id, "year": YEAR, "scores": sheet(db)})  # fmt: skip
    assert worker.status_code == 403
    db.expire_all()
    assert db.scalars(select(SelfAssessment)).first() is None


def test_the_districts_five_groups_cover_each_town_once(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    groups = api.get("/api/v1/inspections/groups", headers=auth("demo_leader")).json()
    assert [g["name"] for g in groups] == [f"第{n}专项督查组" for n in "一二三四五"]
    towns = [t["id"] for g in groups for t in g["towns"]]
    assert len(towns) == len(set(towns))
    town = demo_town(db)
    mine = group_of(api, auth, town.id)
    assert world.ids["demo_district_leader"] in [m["id"] for m in mine["members"]]
    other = next(g for g in groups if g["id"] != mine["id"])
    taken = api.patch(f"/api/v1/inspections/groups/{other['id']}", headers=auth("admin"),
                      json={"town_ids": [town.id], "version": other["version"]})  # fmt: skip
    assert taken.status_code == 409, taken.text
    assert taken.json()["errors"][0]["field"] == "town_ids"
    freed = api.patch(f"/api/v1/inspections/groups/{mine['id']}", headers=auth("admin"),
                      json={"town_ids": [], "version": mine["version"]})  # fmt: skip
    assert freed.status_code == 200 and freed.json()["towns"] == []
    moved = api.patch(f"/api/v1/inspections/groups/{other['id']}", headers=auth("admin"),
                      json={"town_ids": [town.id], "version": other["version"]})  # fmt: skip
    assert moved.status_code == 200 and [t["id"] for t in moved.json()["towns"]] == [town.id]
    refused = api.patch(f"/api/v1/inspections/groups/{other['id']}", headers=auth("demo_leader"),
                        json={"name": "改名", "version": moved.json()["version"]})  # fmt: skip
    assert refused.status_code == 403
    clash = api.post("/api/v1/inspections/groups", headers=auth("demo_district_leader"),
                     json={"name": "第六专项督查组", "town_ids": [town.id]})  # fmt: skip
    assert clash.status_code == 409
    made = api.post("/api/v1/inspections/groups", headers=auth("demo_district_leader"),
                    json={"name": "第六专项督查组", "member_ids": [world.ids["demo_district_operator"]]})  # fmt: skip
    assert made.status_code == 201, made.text

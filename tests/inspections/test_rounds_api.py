"""Supervision rounds and rectification (issue 20, item 4): a group's member scores a town of
the group; every item not met becomes a rectification (a tracked task owned by the town, photo
evidence required) that turns red when late; an inspection of a town not assigned to the group,
a sheet that leaves an item out and a second round of a month are refused with nothing stored;
a rectification closed without evidence is refused; missing rounds are flagged; the contract
numbers follow."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.clock import FixedClock
from fengqiao.inspections import service
from fengqiao.inspections.models import InspectionRound, InspectionRoundItem
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.sweeper import sweep
from tests.events.conftest import World, jpeg
from tests.inspections.helpers import demo_town, free_month, group_of, sheet

Auth = Any
INSPECTOR = "demo_district_leader"  # a member of the demo town's group (demo seed)


def counts(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    return (
        db.scalar(select(func.count()).select_from(InspectionRound)) or 0,
        db.scalar(select(func.count()).select_from(InspectionRoundItem)) or 0,
        db.scalar(select(func.count()).select_from(TrackedTask)) or 0,
    )


def test_a_round_scores_the_town_and_each_failed_item_becomes_a_rectification(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    group = group_of(api, auth, town.id)
    scores = sheet(db, {0: "not_met", 3: "partly", 7: "not_met"})
    body = {"group_id": group["id"], "town_id": town.id, "month": month, "scores": scores}
    made = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR))
    assert made.status_code == 201, made.text
    the_round = made.json()
    weights = {i["item_id"]: i["weight"] for i in the_round["items"]}
    lost = weights[scores[0]["item_id"]] + weights[scores[3]["item_id"]] / 2 \
        + weights[scores[7]["item_id"]]  # fmt: skip
    assert the_round["score"] == round(100 - lost, 2)
    assert the_round["failed"] == 3 and the_round["rectifications_open"] == 3
    failed = [i for i in the_round["items"] if i["result"] != "met"]
    assert all(i["rectification"]["light"] == "green" for i in failed)
    assert all(i["rectification"] is None for i in the_round["items"] if i["result"] == "met")
    codes = {i["rectification"]["code"] for i in failed}
    tasks = list(db.scalars(select(TrackedTask).where(TrackedTask.code.in_(codes))))
    assert {t.kind for t in tasks} == {"rectification"} and all(t.evidence_required for t in tasks)
    assert {t.owner_user_id for t in tasks} == {world.ids["demo_leader"]}  # the town's leader
    assert {t.source_type for t in tasks} == {"inspection"} and {t.org_id for t in tasks} == {
        town.id
    }
    listed = api.get("/api/v1/rectifications", params={"round_id": the_round["id"]},
                     headers=auth("demo_operator"))  # fmt: skip
    assert listed.status_code == 200, listed.text
    assert {r["code"] for r in listed.json()["items"]} == codes
    shown = api.get(f"/api/v1/inspections/{the_round['id']}", headers=auth("demo_leader")).json()
    assert [t["action"] for t in shown["trail"]] == ["score", "rectify"]


def test_a_rectification_goes_red_when_late_and_the_sweep_marks_it_overdue(
    api: TestClient, auth: Auth, db: Session, bound: Any, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    group = group_of(api, auth, town.id)
    body = {"group_id": group["id"], "town_id": town.id, "month": month,
            "scores": sheet(db, {2: "not_met"})}  # fmt: skip
    made = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR)).json()
    code = next(i["rectification"]["code"] for i in made["items"] if i["rectification"])
    task = db.scalars(select(TrackedTask).where(TrackedTask.code == code)).one()

    def red() -> set[str]:
        answer = api.get("/api/v1/rectifications", params={"light": "red", "town_id": town.id},
                         headers=auth("demo_operator"))  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {r["code"] for r in answer.json()["items"]}

    assert code not in red()
    clock.set(task.due_at + timedelta(minutes=1))
    assert code in red()
    sweep(bound, task.due_at + timedelta(minutes=1))
    db.expire_all()
    assert db.get(TrackedTask, task.id).overdue_at is not None  # type: ignore[union-attr]
    shown = api.get(f"/api/v1/inspections/{made['id']}", headers=auth("demo_operator")).json()
    assert {i["rectification"]["light"] for i in shown["items"] if i["rectification"]} == {"red"}


def test_a_rectification_closed_without_evidence_is_refused_then_closed_with_a_photo(
    api: TestClient, auth: Auth, db: Session, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    group = group_of(api, auth, town.id)
    body = {"group_id": group["id"], "town_id": town.id, "month": month,
            "scores": sheet(db, {5: "not_met"})}  # fmt: skip
    made = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR)).json()
    code = next(i["rectification"]["code"] for i in made["items"] if i["rectification"])
    url = f"/api/v1/tasks/{code}"
    version = api.get(url, headers=auth("demo_leader")).json()["version"]
    refused = api.post(f"{url}/complete", json={"result": "已整改", "version": version},
                       headers=auth("demo_leader"))  # fmt: skip
    assert refused.status_code == 422 and [e["field"] for e in refused.json()["errors"]] == [
        "evidence"
    ]
    assert db.scalars(select(TrackedTask.status).where(TrackedTask.code == code)).one() == "open"
    photo = api.post(f"{url}/photos", files={"photos": ("a.jpg", jpeg("blue"), "image/jpeg")},
                     headers=auth("demo_leader"))  # fmt: skip
    assert photo.status_code == 201, photo.text
    clock.advance(timedelta(days=2))
    done = api.post(f"{url}/complete", json={"result": "标识已上墙", "version": photo.json()["version"]},
                    headers=auth("demo_leader"))  # fmt: skip
    assert done.status_code == 200, done.text
    listed = api.get("/api/v1/rectifications", params={"status": "done", "round_id": made["id"]},
                     headers=auth("demo_operator")).json()  # fmt: skip
    assert [r["code"] for r in listed["items"]] == [code] and listed["items"][0]["light"] == "green"


def test_an_inspection_of_a_town_not_assigned_to_the_group_is_refused_and_nothing_stored(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    mine = group_of(api, auth, town.id)
    groups = api.get("/api/v1/inspections/groups", headers=auth("admin")).json()
    other = next(g for g in groups if g["id"] != mine["id"])
    joined = api.patch(f"/api/v1/inspections/groups/{other['id']}", headers=auth("admin"), json={
        "member_ids": [m["id"] for m in other["members"]] + [world.ids[INSPECTOR]],
        "version": other["version"],
    })  # fmt: skip
    assert joined.status_code == 200, joined.text
    before = counts(db)
    body = {
        "group_id": other["id"],
        "town_id": town.id,
        "month": month,
        "scores": sheet(db, {0: "not_met"}),
    }
    refused = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR))
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["town_id"]
    assert counts(db) == before
    # Not a member of the town's group: 403, nothing stored either.
    outsider = api.post("/api/v1/inspections", headers=auth("demo_operator"),
                        json=body | {"group_id": mine["id"]})  # fmt: skip
    assert outsider.status_code == 403 and counts(db) == before


def test_a_sheet_with_an_item_left_out_or_a_second_round_of_the_month_is_refused(
    api: TestClient, auth: Auth, db: Session, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    group = group_of(api, auth, town.id)
    full = sheet(db, {1: "not_met"})
    before = counts(db)
    short = api.post("/api/v1/inspections", headers=auth(INSPECTOR), json={
        "group_id": group["id"], "town_id": town.id, "month": month, "scores": full[:-1]})  # fmt: skip
    assert short.status_code == 422 and short.json()["errors"][0]["field"] == "scores"
    future = api.post("/api/v1/inspections", headers=auth(INSPECTOR), json={
        "group_id": group["id"], "town_id": town.id, "month": "2099-01", "scores": full})  # fmt: skip
    assert future.status_code == 422 and future.json()["errors"][0]["field"] == "month"
    assert counts(db) == before
    body = {"group_id": group["id"], "town_id": town.id, "month": month, "scores": full}
    assert api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR)).status_code == 201
    after = counts(db)
    again = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR))
    assert again.status_code == 409 and again.json()["type"].endswith("round-exists")
    assert counts(db) == after


def test_towns_without_this_months_round_are_flagged(
    api: TestClient, auth: Auth, db: Session, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    missing = api.get("/api/v1/inspections/missing", params={"month": month},
                      headers=auth("demo_operator"))  # fmt: skip
    assert missing.status_code == 200, missing.text
    assert town.id in [t["id"] for t in missing.json()["towns"]]
    group = group_of(api, auth, town.id)
    api.post("/api/v1/inspections", headers=auth(INSPECTOR), json={
        "group_id": group["id"], "town_id": town.id, "month": month, "scores": sheet(db)})  # fmt: skip
    again = api.get("/api/v1/inspections/missing", params={"month": month},
                    headers=auth("demo_operator")).json()  # fmt: skip
    assert town.id not in [t["id"] for t in again["towns"]]


def _rectifications(db: Session, town_id: int, year: int) -> int:
    return db.scalar(
        select(func.count()).select_from(TrackedTask)
        .join(InspectionRoundItem, InspectionRoundItem.task_id == TrackedTask.id)
        .join(InspectionRound, InspectionRound.id == InspectionRoundItem.round_id)
        .where(InspectionRound.town_id == town_id, InspectionRound.year == year)
    ) or 0  # fmt: skip


def test_the_contract_numbers_follow_the_rounds_and_rectifications(
    api: TestClient, auth: Auth, db: Session, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    year = int(month[:4])
    rounds = list(db.scalars(select(InspectionRound.score).where(
        InspectionRound.town_id == town.id, InspectionRound.year == year)))  # fmt: skip
    rate_before = service.rectification_rates(db=db, year=year).get(town.id, 0.0)
    items_before = _rectifications(db, town.id, year)
    group = group_of(api, auth, town.id)
    made = api.post("/api/v1/inspections", headers=auth(INSPECTOR), json={
        "group_id": group["id"], "town_id": town.id, "month": month,
        "scores": sheet(db, {0: "not_met", 1: "not_met"})}).json()  # fmt: skip
    scores = service.round_scores(db=db, year=year)
    assert scores[town.id] == round(sum([*rounds, made["score"]]) / (len(rounds) + 1), 2)
    # Two more items, open: the share done on time falls by their weight in the count.
    rate = service.rectification_rates(db=db, year=year)[town.id]
    assert rate == round(rate_before * items_before / (items_before + 2), 4)
    summary = api.get("/api/v1/inspections/summary", params={"year": year},
                      headers=auth("demo_leader")).json()  # fmt: skip
    mine = next(t for t in summary if t["town"]["id"] == town.id)
    assert mine["round_score"] == scores[town.id] and mine["rectification_rate"] == rate
    assert mine["rounds"] == len(rounds) + 1 and mine["rectifications"] == items_before + 2
    assert service.self_assessments(db=db, year=year).get(town.id) is not None  # the demo's


def test_rounds_keep_to_the_callers_scope(api: TestClient, auth: Auth) -> None:
    assert api.get("/api/v1/inspections", headers=auth("demo_handler")).status_code == 403
    assert api.get("/api/v1/rectifications", headers=auth("demo_grid_worker")).status_code == 403
    town_view = api.get("/api/v1/inspections", headers=auth("demo_leader")).json()
    assert town_view["total"] > 0
    assert {r["town"]["id"] for r in town_view["items"]} == {
        r["town"]["id"] for r in api.get("/api/v1/inspections", headers=auth("demo_operator")).json()["items"]
    }  # fmt: skip


def test_a_failed_item_goes_to_the_unit_named_and_only_to_a_unit_of_the_town(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    town = demo_town(db)
    month = free_month(db, town, clock.now())
    group = group_of(api, auth, town.id)
    district_unit = db.scalar(
        select(Unit.id).join(OrgUnit, OrgUnit.id == Unit.org_unit_id)
        .where(OrgUnit.parent_id.is_(None)).order_by(Unit.id).limit(1)
    )  # fmt: skip
    assert district_unit is not None
    scores = sheet(db, {4: "not_met"})
    scores[4] |= {"owner_unit_id": district_unit}
    before = counts(db)
    body = {"group_id": group["id"], "town_id": town.id, "month": month, "scores": scores}
    refused = api.post("/api/v1/inspections", json=body, headers=auth(INSPECTOR))
    assert refused.status_code == 422, refused.text
    assert [e["field"] for e in refused.json()["errors"]] == ["scores[4].owner_unit_id"]
    assert counts(db) == before
    scores[4] |= {"owner_unit_id": world.handler_unit, "deadline_days": 3}
    made = api.post("/api/v1/inspections", json=body | {"scores": scores}, headers=auth(INSPECTOR))
    assert made.status_code == 201, made.text
    code = next(i["rectification"]["code"] for i in made.json()["items"] if i["rectification"])
    task = db.scalars(select(TrackedTask).where(TrackedTask.code == code)).one()
    assert task.owner_unit_id == world.handler_unit and task.owner_user_id is None
    # The unit's handler sees it among the tasks the unit owns.
    mine = api.get(f"/api/v1/tasks/{code}", headers=auth("demo_handler"))
    assert mine.status_code == 200, mine.text

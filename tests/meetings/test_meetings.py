"""Analysis meetings (issue 20, item 3): a meeting of a town in scope with its attendees, an
agenda drafted from the area's data with earlier decisions first, minutes and decisions that
become tracked tasks, a decision without an owner refused whole, the regular meetings scheduled
by the rules and a missed one flagged, and the yearly figures for the annual assessment."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.meetings.agenda import SECTION_KEYS
from fengqiao.meetings.models import Meeting
from fengqiao.meetings.schedule import run
from fengqiao.meetings.service import decisions_on_time, meetings_held, new_meeting
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.tasks.models import TrackedTask
from fengqiao.tasks.service import create_task
from tests.events.conftest import World

Auth = Any


def town_of(db: Session, world: World) -> OrgUnit:
    home = db.get(OrgUnit, db.get(User, world.ids["demo_operator"]).home_org_id)  # type: ignore[union-attr]
    assert home is not None and home.kind == "town"
    return home


def arrange(api: TestClient, auth: Auth, org_id: int, when: datetime, *, expect: int = 201,
            **fields: Any) -> dict[str, Any]:  # fmt: skip
    body = {"org_id": org_id, "title": "月度分析研判会商", "scheduled_at": when.isoformat(),
            "place": "镇街综合信息指挥室", **fields}  # fmt: skip
    response = api.post("/api/v1/meetings", json=body, headers=auth("demo_operator"))
    assert response.status_code == expect, response.text
    return dict(response.json())


def decision(world: World, **fields: Any) -> dict[str, Any]:
    return {"title": "整治农贸市场周边占道经营", "detail": "两周内清理并建立长效机制",
            "owner_unit_id": world.handler_unit, "limit_days": 5, **fields}  # fmt: skip


def test_a_decision_becomes_a_tracked_task_and_leads_the_next_agenda(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    town = town_of(db, world)
    first = arrange(api, auth, town.id, clock.now() + timedelta(hours=2),
                    attendee_ids=[world.ids["demo_leader"], world.ids["demo_operator"]])  # fmt: skip
    assert [s["key"] for s in first["agenda"]] == list(SECTION_KEYS)
    assert first["status"] == "scheduled" and first["level"] == "town"
    assert {a["id"] for a in first["attendees"]} == {
        world.ids["demo_leader"],
        world.ids["demo_operator"],
    }
    clock.advance(timedelta(hours=3))
    held = api.post(f"/api/v1/meetings/{first['id']}/hold", headers=auth("demo_operator"), json={
        "minutes_text": "会议分析了上月事件态势，部署专项整治。", "present_ids": [world.ids["demo_leader"]],
        "decisions": [decision(world)], "version": first["version"],
    })  # fmt: skip
    assert held.status_code == 200, held.text
    meeting = held.json()
    assert meeting["status"] == "held" and meeting["minutes_text"].startswith("会议分析")
    assert {(a["id"], a["present"]) for a in meeting["attendees"]} == {
        (world.ids["demo_leader"], True), (world.ids["demo_operator"], False)}  # fmt: skip
    [task] = meeting["decisions"]
    assert task["kind"] == "decision" and task["source_type"] == "meeting"
    assert task["source_id"] == meeting["id"] and task["light"] == "green"
    assert task["owner_unit"]["id"] == world.handler_unit
    # The owner sees the task on its page's twin, with its light.
    seen = api.get(f"/api/v1/tasks/{task['code']}", headers=auth("demo_handler"))
    assert seen.status_code == 200 and seen.json()["light"] == "green"
    # The next meeting of the town shows the decision's progress first.
    clock.advance(timedelta(days=8))  # past its 5 working days (a weekend between): red
    second = arrange(api, auth, town.id, clock.now() + timedelta(days=1))
    decisions = second["agenda"][0]
    assert decisions["key"] == "decisions"
    [item] = [i for i in decisions["items"] if i.get("task") == task["code"]]
    assert item["light"] == "red" and "整治农贸市场周边占道经营" in item["text"]
    # Done late, it still shows on the agenda drafted after (as 已办结（超期）).
    api.post(f"/api/v1/tasks/{task['code']}/complete", headers=auth("demo_handler"),
             json={"result": "已清理", "version": seen.json()["version"]})  # fmt: skip
    draft = api.get(f"/api/v1/meetings/{second['id']}/agenda/draft", headers=auth("demo_operator"))
    assert draft.status_code == 200, draft.text
    [late] = [i for i in draft.json()["sections"][0]["items"] if i.get("task") == task["code"]]
    assert "已办结（超期）" in late["text"] and late["task_status"] == "done"


def test_a_decision_without_an_owner_is_refused_and_nothing_is_stored(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    town = town_of(db, world)
    made = arrange(api, auth, town.id, clock.now())
    tasks_before = db.scalar(select(func.count()).select_from(TrackedTask))
    refused = api.post(f"/api/v1/meetings/{made['id']}/hold", headers=auth("demo_operator"), json={
        "minutes_text": "纪要", "decisions": [decision(world), decision(world, owner_unit_id=None)],
        "version": made["version"],
    })  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    [error] = refused.json()["errors"]
    assert error["field"] == "decisions[1].owner"
    assert error["reason_zh"] == "决策事项须指定责任单位或责任人".replace("决策", "决定")
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(TrackedTask)) == tasks_before
    again = api.get(f"/api/v1/meetings/{made['id']}", headers=auth("demo_operator")).json()
    assert (
        again["status"] == "scheduled"
        and again["decisions"] == []
        and again["minutes_text"] is None
    )


def test_attendees_and_orgs_are_scope_checked(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    worker_home = db.get(OrgUnit, db.get(User, world.ids["demo_grid_worker"]).home_org_id)  # type: ignore[union-attr]
    assert worker_home is not None
    other_village = db.scalars(select(OrgUnit).where(
        OrgUnit.kind == "village", OrgUnit.id != worker_home.parent_id)).first()  # fmt: skip
    assert other_village is not None
    refused = arrange(api, auth, other_village.id, clock.now(), expect=422,
                      attendee_ids=[world.ids["demo_grid_worker"]])  # fmt: skip
    assert refused["errors"][0]["field"] == "attendee_ids[0]"
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()
    arrange(api, auth, district.id, clock.now(), expect=403)  # above the town operator


def test_regular_meetings_are_scheduled_and_a_missed_one_is_flagged(
    db: Session, bound: Any, world: World
) -> None:
    town = town_of(db, world)
    now = datetime(2031, 3, 1, 9, 0, tzinfo=LOCAL_TZ)  # far from the demo's year
    counts = run(bound, now)
    assert counts["scheduled"] >= 2
    db.expire_all()
    [march] = db.scalars(select(Meeting).where(Meeting.org_id == town.id,
                                               Meeting.period_key == "2031-03")).all()  # fmt: skip
    assert march.regular and march.status == "scheduled"
    assert march.scheduled_at.astimezone(LOCAL_TZ).date().day == 10  # 10 March 2031 is a Monday
    assert (march.period_start.isoformat(), march.period_end.isoformat()) == (
        "2031-02-01",
        "2031-02-28",
    )
    assert run(bound, now)["scheduled"] == 0  # nothing twice
    run(bound, march.missed_after - timedelta(seconds=1))
    db.expire_all()
    assert db.get(Meeting, march.id).status == "scheduled"  # type: ignore[union-attr]
    run(bound, march.missed_after)
    db.expire_all()
    flagged = db.get(Meeting, march.id)
    assert flagged is not None and flagged.status == "missed"
    told = {r.user_id for r in db.scalars(select(Outbox).where(
        Outbox.template == "meeting_missed", Outbox.dedupe_key.like(f"meeting-missed:{march.id}:%")))}  # fmt: skip
    assert world.ids["demo_operator"] in told and world.ids["demo_leader"] in told


def test_the_yearly_figures_count_town_meetings_and_decisions_on_time(
    db: Session, world: World
) -> None:
    town = town_of(db, world)
    year = 2032
    made = []
    for month, status in ((1, "held"), (2, "held"), (3, "missed"), (4, "cancelled")):
        when = datetime(year, month, 10, 14, 30, tzinfo=LOCAL_TZ)
        meeting = new_meeting(
            db=db, area=town, title="例会", scheduled_at=when, place="", room_org_id=None,
            period=(when.date() - timedelta(days=30), when.date() - timedelta(days=1)),
            regular=True, period_key=f"{year}-{month:02d}", actor_id=None, now=when, draft=False,
        )  # fmt: skip
        meeting.status = status
        made.append(meeting)
    start = datetime(year, 1, 10, 16, 0, tzinfo=LOCAL_TZ)
    tasks = [
        create_task(db=db, kind="decision", source_type="meeting", source_id=made[0].id,
                    title=f"决定{n}", detail="", org_id=town.id, owner_unit_id=world.handler_unit,
                    owner_user_id=None, limit=5, limit_unit="calendar_days",
                    evidence_required=False, actor_id=None, now=start, notify=False)
        for n in range(3)
    ]  # fmt: skip
    tasks[0].status, tasks[0].done_at = "done", tasks[0].due_at - timedelta(days=1)
    tasks[1].status, tasks[1].done_at = "done", tasks[1].due_at + timedelta(days=1)
    db.flush()
    assert meetings_held(db=db, year=year) == {town.id: (2, 3)}
    assert decisions_on_time(db=db, year=year) == {town.id: 1 / 3}
    assert meetings_held(db=db, year=year + 1) == {}


def test_the_draft_lists_the_areas_overdue_and_escalated_events(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    from fengqiao.events.models import Event
    from tests.events.conftest import Desk

    desk = Desk(api, auth, world)
    filed = desk.file()
    event = db.get(Event, filed["id"])
    assert event is not None
    event.overdue_at, event.escalation_rung = clock.now(), 1
    db.commit()
    made = arrange(api, auth, town_of(db, world).id, clock.now() + timedelta(days=1))
    sections = {s["key"]: s["items"] for s in made["agenda"]}
    assert any(i.get("event") == event.id and event.code in i["text"] for i in sections["overdue"])
    assert any(i.get("event") == event.id for i in sections["escalated"])
    # A village's meeting elsewhere does not see it.
    other = db.scalars(select(OrgUnit).where(
        OrgUnit.kind == "village", OrgUnit.id != event.village_id)).first()  # fmt: skip
    assert other is not None
    elsewhere = arrange(api, auth, other.id, clock.now() + timedelta(days=1))
    assert not any(i.get("event") == event.id
                   for s in elsewhere["agenda"] for i in s["items"])  # fmt: skip


def test_a_cancelled_meeting_takes_no_minutes_and_a_stale_version_is_refused(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    made = arrange(api, auth, town_of(db, world).id, clock.now() + timedelta(days=2))
    url = f"/api/v1/meetings/{made['id']}"
    edited = api.patch(url, headers=auth("demo_operator"),
                       json={"place": "街道三楼会议室", "version": made["version"]})  # fmt: skip
    assert edited.status_code == 200 and edited.json()["place"] == "街道三楼会议室"
    stale = api.post(f"{url}/cancel", headers=auth("demo_operator"),
                     json={"reason": "台风停会", "version": made["version"]})  # fmt: skip
    assert stale.status_code == 409
    cancelled = api.post(f"{url}/cancel", headers=auth("demo_operator"),
                         json={"reason": "台风停会", "version": edited.json()["version"]})  # fmt: skip
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    late = api.post(f"{url}/hold", headers=auth("demo_operator"), json={
        "minutes_text": "纪要", "version": cancelled.json()["version"]})  # fmt: skip
    assert late.status_code == 409
    assert late.json()["type"].endswith("meeting-wrong-state")
    listed = api.get("/api/v1/meetings", headers=auth("demo_operator"),
                     params={"status": "cancelled", "size": 100}).json()  # fmt: skip
    assert made["id"] in {m["id"] for m in listed["items"]}
    assert api.get(url, headers=auth("demo_handler")).status_code == 403  # not a meeting reader


def test_a_meeting_still_ahead_is_not_yet_counted_as_scheduled(db: Session, world: World) -> None:
    """12-10's meeting seen on 12-06 is neither held nor due: 例会召开率 counts it for neither."""
    town = town_of(db, world)
    year = 2033
    for month, status in ((11, "held"), (12, "scheduled")):
        when = datetime(year, month, 10, 14, 30, tzinfo=LOCAL_TZ)
        meeting = new_meeting(
            db=db, area=town, title="例会", scheduled_at=when, place="", room_org_id=None,
            period=(when.date() - timedelta(days=30), when.date() - timedelta(days=1)),
            regular=True, period_key=f"{year}-{month:02d}", actor_id=None, now=when, draft=False,
        )  # fmt: skip
        meeting.status = status
    db.flush()
    assert meetings_held(db=db, year=year) == {town.id: (1, 1)}


def test_a_meeting_is_not_held_before_its_time_until_rescheduled(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    made = arrange(api, auth, town_of(db, world).id, clock.now() + timedelta(days=4))
    url = f"/api/v1/meetings/{made['id']}"
    early = api.post(f"{url}/hold", headers=auth("demo_operator"), json={
        "minutes_text": "纪要", "decisions": [decision(world)], "version": made["version"]})  # fmt: skip
    assert early.status_code == 409, early.text
    assert early.headers["content-type"].startswith("application/problem+json")
    problem = early.json()
    assert problem["type"].endswith("meeting-not-yet")
    assert "scheduled_at" in problem["detail"] and "会商时间" in problem["detail_zh"]
    assert [e["field"] for e in problem["errors"]] == ["scheduled_at"]
    assert db.scalar(select(func.count()).select_from(TrackedTask).where(
        TrackedTask.source_type == "meeting", TrackedTask.source_id == made["id"])) == 0  # fmt: skip
    # Held earlier than planned: the operator moves its time first, then records it.
    moved = api.patch(url, headers=auth("demo_operator"), json={
        "scheduled_at": (clock.now() - timedelta(hours=1)).isoformat(), "version": made["version"]})  # fmt: skip
    assert moved.status_code == 200, moved.text
    held = api.post(f"{url}/hold", headers=auth("demo_operator"), json={
        "minutes_text": "纪要", "decisions": [decision(world)], "version": moved.json()["version"]})  # fmt: skip
    assert held.status_code == 200, held.text
    assert held.json()["status"] == "held"

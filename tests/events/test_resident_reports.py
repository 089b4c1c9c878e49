"""我的上报 in plain words (issue 19, item 2): a resident's own reports, the public timeline of
events/public.py and nothing of the inside, the photos staff mark public, a message at each
public step (SMS only when asked), and the rating with a comment, once, by the reporter."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.analytics.query import Scope, aggregate
from fengqiao.analytics.rollups import apply_pending
from fengqiao.assessment import service as assessment
from fengqiao.auth.models import User
from fengqiao.auth.service import create_user
from fengqiao.events.models import Event, EventLog
from fengqiao.events.public import PUBLIC_STEPS
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from tests.conftest import BoundDatabase

from .conftest import Auth, Desk, jpeg

RESIDENT = "demo_resident"


def _mine(api: TestClient, auth: Auth, code: str, user: str = RESIDENT, expect: int = 200) -> Any:
    response = api.get(f"/api/v1/resident/reports/{code}", headers=auth(user))
    assert response.status_code == expect, response.text
    return response.json()


def _filed(desk: Desk, **fields: Any) -> dict[str, Any]:
    """A resident's report with one photo of their own (multipart, as the app sends it)."""
    lat, lng = desk.world.grid_point
    body = {"source": "resident", "category": desk.world.handler_category, "lat": str(lat),
            "lng": str(lng), "description": "小区门口路灯不亮", "address": "柯桥街道某路12号",
            **{k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in fields.items()}}  # fmt: skip
    response = desk.api.post(
        "/api/v1/events", data=body, files=[("photos", ("p.jpg", jpeg("red"), "image/jpeg"))],
        headers=desk.auth(RESIDENT),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    return dict(response.json())


def _through_the_loop(desk: Desk, event: dict[str, Any]) -> tuple[dict[str, Any], list[int]]:
    """Accept, dispatch, sign, feed back with two photos (one marked public), verify: closed."""
    event = desk.act(event, "demo_operator", "accept")
    event = desk.act(event, "demo_operator", "dispatch")
    event = desk.act(event, "demo_handler", "sign")
    shown, kept = desk.photo(event, "demo_handler"), desk.photo(event, "demo_handler")
    event = desk.get(event)
    marked = desk.api.put(
        f"/api/v1/events/{event['id']}/attachments/{shown}/public",
        json={"public": True, "version": event["version"]}, headers=desk.auth("demo_handler"),
    )  # fmt: skip
    assert marked.status_code == 200, marked.text
    assert marked.json()["public"] is True and marked.json()["version"] == event["version"] + 1
    event = desk.get(event)
    event = desk.act(
        event, "demo_handler", "feedback", result="已由王师傅更换灯泡（内部：工单甲）",
        attachment_ids=[shown, kept],
    )  # fmt: skip
    event = desk.verify_ok(event)
    assert event["status"] == "closed"
    return event, [shown, kept]


def test_a_resident_follows_their_report_in_public_words_only(
    desk: Desk, api: TestClient, auth: Auth, db: Session
) -> None:
    event = _filed(desk)
    listed = api.get("/api/v1/resident/reports", headers=auth(RESIDENT)).json()
    assert listed["items"][0]["code"] == event["code"] and listed["page"] == 1
    assert listed["items"][0]["status_zh"] == "已提交"
    event, (shown, kept) = _through_the_loop(desk, event)
    report = _mine(api, auth, event["code"])
    assert report["status"] == "fixed" and report["status_zh"] == "已解决"
    words = [step["words"] for step in report["timeline"]]
    assert words == ["已提交", "已受理", f"交办至{event['owner_unit']['name']}", "处置完成，待核查",
                     "已核查结案"]  # fmt: skip
    every_public = {step.words.split("{")[0] for step in PUBLIC_STEPS.values()}
    assert all(any(w.startswith(p) for p in every_public) for w in words)
    assert report["expected_at"] is not None and report["closed_at"] is not None
    # Photos: the resident's own report photo and the one staff marked public; not the other.
    kinds = {(p["id"], p["side"]) for p in report["photos"]}
    assert (shown, "after") in kinds and kept not in {p["id"] for p in report["photos"]}
    assert [p["side"] for p in report["photos"]].count("before") == 1
    for photo in report["photos"]:
        assert api.get(photo["url"], headers=auth(RESIDENT)).status_code == 200
    hidden = f"/api/v1/resident/reports/{event['code']}/photos/{kept}"
    assert api.get(hidden, headers=auth(RESIDENT)).status_code == 404
    # Nothing of the inside: no staff names, no hashes, no notes or results, no ids of people.
    text = json.dumps(report, ensure_ascii=False)
    names = db.scalars(
        select(User.name).where(User.username.in_(("demo_handler", "demo_operator",
                                                    "demo_grid_worker")))
    ).all()  # fmt: skip
    assert names and not [name for name in names if name in text]
    hashes = db.scalars(select(EventLog.hash).where(EventLog.event_id == event["id"])).all()
    assert hashes and not [digest for digest in hashes if digest[:12] in text]
    assert "王师傅" not in text and "内部" not in text and "hash" not in text
    assert "reporter" not in text and "actor" not in text and "sha256" not in text


def test_a_rejection_tells_its_public_reason(desk: Desk, api: TestClient, auth: Auth) -> None:
    event = _filed(desk)
    desk.act(event, "demo_operator", "reject", note="该路段不属于本区管辖")
    report = _mine(api, auth, event["code"])
    assert report["status"] == "closed_unfixed" and report["status_zh"] == "不予受理"
    last = report["timeline"][-1]
    assert last["words"] == "不予受理" and last["reason"] == "该路段不属于本区管辖"
    assert report["may_rate"] is False


def test_another_residents_report_is_not_found(
    desk: Desk, api: TestClient, auth: Auth, db: Session
) -> None:
    event = _filed(desk)
    village = db.scalar(
        select(OrgUnit.code).join(User, User.home_org_id == OrgUnit.id).where(User.username == RESIDENT)
    )  # fmt: skip
    assert village is not None
    create_user(db=db, username="other_resident", name="邻居", password=None, roles=["resident"],
                home_org_code=village)  # fmt: skip
    db.flush()
    _mine(api, auth, event["code"], "other_resident", expect=404)
    photo = _mine(api, auth, event["code"])["photos"][0]["url"]
    assert api.get(photo, headers=auth("other_resident")).status_code == 404
    theirs = api.get("/api/v1/resident/reports", headers=auth("other_resident")).json()
    assert theirs["items"] == [] and theirs["total"] == 0
    # Staff see only what they reported themselves in this list, too.
    staff = api.get("/api/v1/resident/reports", headers=auth("demo_operator")).json()
    assert event["code"] not in {item["code"] for item in staff["items"]}
    _mine(api, auth, event["code"], "demo_operator", expect=404)
    rated = api.post(f"/api/v1/resident/reports/{event['code']}/rating", json={"stars": 5},
                     headers=auth("other_resident"))  # fmt: skip
    assert rated.status_code == 404


def test_only_an_operator_or_the_owner_unit_marks_photos_public(
    desk: Desk, api: TestClient, auth: Auth
) -> None:
    event = _filed(desk)
    event = desk.act(desk.act(event, "demo_operator", "accept"), "demo_operator", "dispatch")
    photo = desk.photo(event, "demo_handler")
    event = desk.get(event)
    path = f"/api/v1/events/{event['id']}/attachments/{photo}/public"
    body = {"public": True, "version": event["version"]}
    for user, status in (("demo_grid_worker", 403), ("demo_leader", 403), (RESIDENT, 403)):
        assert api.put(path, json=body, headers=auth(user)).status_code == status, user
    stale = api.put(path, json={"public": True, "version": 1}, headers=auth("demo_operator"))
    assert stale.status_code == 409
    done = api.put(path, json=body, headers=auth("demo_operator"))
    assert done.status_code == 200 and done.json()["public"] is True
    assert [a["public"] for a in desk.get(event)["attachments"] if a["id"] == photo] == [True]
    bad = api.put(path, json={"public": "yes please", "version": 2}, headers=auth("demo_operator"))
    assert bad.status_code == 422
    trail = desk.get(event)["trail"]
    assert trail[-1]["action"] == "photo_public"
    # The switch is not a public step: the resident's timeline does not show it.
    assert [s["key"] for s in _mine(api, auth, event["code"])["timeline"]] == [
        "submitted", "accepted", "dispatched"]  # fmt: skip


def _told(db: Session, event_id: int) -> list[Outbox]:
    db.expire_all()
    return list(db.scalars(select(Outbox).where(Outbox.event_id == event_id).order_by(Outbox.id)))


def _to_resident(db: Session, event_id: int, resident: int) -> list[Outbox]:
    return [row for row in _told(db, event_id) if row.user_id == resident]


def test_a_message_at_each_public_step_sms_only_when_asked(desk: Desk, db: Session) -> None:
    resident = desk.world.ids[RESIDENT]
    db.execute(
        User.__table__.update().where(User.id == resident).values(phone="13905759999")  # type: ignore[attr-defined]
    )
    quiet = _filed(desk)
    loud = _filed(desk, notify_sms=True)
    assert db.get(Event, loud["id"]).notify_sms is True  # type: ignore[union-attr]
    for event in (quiet, loud):
        _through_the_loop(desk, event)
    for event, channels in ((quiet, {"app"}), (loud, {"app", "sms"})):
        rows = _to_resident(db, event["id"], resident)
        templates = [row.template for row in rows if row.channel == "app"]
        # accepted, dispatched, handled, closed: one message each, filing (their own step) none.
        assert templates == ["resident_accepted", "resident_progress", "resident_progress",
                             "resident_closed"], templates  # fmt: skip
        assert {row.channel for row in rows} == channels
        for row in rows:
            assert row.payload["path"] == f"/r/reports/{event['code']}"
        steps = [
            str(row.payload.get("step")) for row in rows if row.template == "resident_progress"
        ]
        assert steps[0].startswith("交办至") and steps[-1] == "处置完成，待核查"
        assert all("王师傅" not in json.dumps(row.payload, ensure_ascii=False) for row in rows)


def test_nobody_is_told_of_their_own_step_and_the_inbox_links_the_report(
    desk: Desk, api: TestClient, auth: Auth, db: Session
) -> None:
    resident = desk.world.ids[RESIDENT]
    event = _filed(desk)
    assert _to_resident(db, event["id"], resident) == []  # filing is their own step
    event, _photos = _through_the_loop(desk, event)
    before = len(_to_resident(db, event["id"], resident))
    api.post(f"/api/v1/resident/reports/{event['code']}/rating", json={"stars": 4},
             headers=auth(RESIDENT))  # fmt: skip
    assert len(_to_resident(db, event["id"], resident)) == before  # rating: their own step


def test_a_rating_with_a_comment_once_by_the_reporter_counted_in_satisfaction(
    desk: Desk, api: TestClient, auth: Auth, db: Session, bound: BoundDatabase
) -> None:
    event = _filed(desk)
    early = api.post(f"/api/v1/resident/reports/{event['code']}/rating", json={"stars": 4},
                     headers=auth(RESIDENT))  # fmt: skip
    assert early.status_code == 409  # not finished yet
    assert _mine(api, auth, event["code"])["may_rate"] is False
    event, _photos = _through_the_loop(desk, event)
    assert _mine(api, auth, event["code"])["may_rate"] is True
    district = db.scalars(select(OrgUnit).where(OrgUnit.kind == "district")).one()

    def counted() -> tuple[int, int]:
        apply_pending(bound)
        found = aggregate(db, scope=Scope("district", district.id), start=date(2026, 11, 1),
                          end=date(2026, 12, 31), by=("town_id",),
                          counters=assessment.COUNTERS)  # fmt: skip
        rated = 1 + found.counters.index("rated")
        total = 1 + found.counters.index("satisfaction_sum")
        return (sum(r[rated] or 0 for r in found.rows), sum(r[total] or 0 for r in found.rows))

    rated_before, sum_before = counted()
    too_long = api.post(f"/api/v1/resident/reports/{event['code']}/rating",
                        json={"stars": 4, "comment": "很" * 501}, headers=auth(RESIDENT))  # fmt: skip
    assert too_long.status_code == 422 and db.get(Event, event["id"]).satisfaction is None  # type: ignore[union-attr]
    # Staff who may read the event may not rate it for the resident.
    by_staff = desk.act(desk.get(event), "demo_operator", "rate", satisfaction=5, expect=403)
    assert "上报人" in by_staff["detail_zh"]
    rated = api.post(f"/api/v1/resident/reports/{event['code']}/rating",
                     json={"stars": 4, "comment": "路灯修好了，谢谢！"}, headers=auth(RESIDENT))  # fmt: skip
    assert rated.status_code == 200, rated.text
    report = rated.json()
    assert report["satisfaction"] == 4 and report["rating_comment"] == "路灯修好了，谢谢！"
    assert report["may_rate"] is False
    assert _mine(api, auth, event["code"])["rating_comment"] == "路灯修好了，谢谢！"
    again = api.post(f"/api/v1/resident/reports/{event['code']}/rating", json={"stars": 1},
                     headers=auth(RESIDENT))  # fmt: skip
    assert again.status_code == 409 and "只能评价一次" in again.json()["detail_zh"]
    assert _mine(api, auth, event["code"])["satisfaction"] == 4
    assert counted() == (rated_before + 1, sum_before + 4)
    trail = desk.get(event)["trail"]
    assert trail[-1]["action"] == "rate" and trail[-1]["payload"]["comment"] == "路灯修好了，谢谢！"


def test_a_merged_or_rejected_report_tells_the_resident_in_its_public_words(
    desk: Desk, api: TestClient, auth: Auth, db: Session
) -> None:
    resident = desk.world.ids[RESIDENT]
    first, second = _filed(desk), _filed(desk)
    merged = desk.act(second, "demo_operator", "merge", into=first["id"])
    assert merged["status"] == "merged"
    told = [r for r in _to_resident(db, second["id"], resident) if r.channel == "app"]
    assert [r.payload["step"] for r in told] == [f"已合并至{first['code']}"]
    report = _mine(api, auth, second["code"])
    assert (
        report["status_zh"] == "已合并"
        and report["timeline"][-1]["words"] == told[0].payload["step"]
    )
    rejected = _filed(desk)
    desk.act(rejected, "demo_operator", "reject", note="重复反映，已在处理")
    told = [r for r in _to_resident(db, rejected["id"], resident) if r.channel == "app"]
    assert [r.template for r in told] == ["resident_rejected"]
    assert told[0].payload["note"] == "重复反映，已在处理"
    assert told[0].payload["path"] == f"/r/reports/{rejected['code']}"


def test_the_staff_detail_keeps_the_inside_from_a_resident_too(
    desk: Desk, api: TestClient, auth: Auth, db: Session
) -> None:
    """A resident reading their report through the events API (the staff detail) gets the same
    public steps and photos as 我的上报: no names, notes, payloads or hashes of the trail."""
    event, (shown, kept) = _through_the_loop(desk, _filed(desk))
    staff = api.get(f"/api/v1/events/{event['id']}", headers=auth("demo_operator")).json()
    assert any(row["hash"] for row in staff["trail"]) and any(
        row["actor"] for row in staff["trail"]
    )
    seen = api.get(f"/api/v1/events/{event['id']}", headers=auth(RESIDENT))
    assert seen.status_code == 200, seen.text
    detail = seen.json()
    assert [row["action"] for row in detail["trail"]] == [
        "report", "accept", "dispatch", "feedback", "verify"
    ]  # fmt: skip
    assert all(row["actor"] is None and row["hash"] == "" and row["note"] == ""
               and row["payload"] == {} for row in detail["trail"])  # fmt: skip
    text = json.dumps(detail, ensure_ascii=False)
    assert "王师傅" not in text
    photos = {a["id"] for a in detail["attachments"]}
    assert shown in photos and kept not in photos
    base = f"/api/v1/events/{event['id']}/attachments"
    assert api.get(f"{base}/{shown}", headers=auth(RESIDENT)).status_code == 200
    assert api.get(f"{base}/{kept}", headers=auth(RESIDENT)).status_code == 404
    assert api.get(f"{base}/{kept}", headers=auth("demo_operator")).status_code == 200

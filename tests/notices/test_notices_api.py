"""Notices to residents (issue 19, item 6): operators publish to an area of their scope,
residents and the public see the notices valid today by the injected clock, withdrawal hides
them, writes and lists keep to the scope, input is bounded and images must be images."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import FixedClock
from fengqiao.demo import notices as demo_notices
from fengqiao.notices.models import Notice, NoticeLog
from fengqiao.org.models import OrgUnit
from tests.events.conftest import World, jpeg
from tests.rooms.test_rooms import towns

Auth = Any
TODAY = date(2026, 12, 1)  # the local day of tests.events.conftest.START


def village_of(db: Session, world: World, user: str) -> OrgUnit:
    """The village of a demo user's home (a grid's parent, or the village itself)."""
    home = db.get(OrgUnit, db.get(User, world.ids[user]).home_org_id)  # type: ignore[union-attr]
    assert home is not None
    village = db.get(OrgUnit, home.parent_id) if home.kind == "grid" else home
    assert village is not None and village.kind == "village", village
    return village


def notice(api: TestClient, auth: Auth, org_id: int, *, user: str = "demo_operator",
           expect: int = 201, **fields: Any) -> dict[str, Any]:  # fmt: skip
    body = {"org_id": org_id, "title": "冬季防火提醒", "text": "请勿在楼道内给电动车充电。",
            "valid_from": str(TODAY), "valid_to": str(TODAY + timedelta(days=7)), **fields}  # fmt: skip
    response = api.post("/api/v1/notices", json=body, headers=auth(user))
    assert response.status_code == expect, response.text
    return dict(response.json())


def public(api: TestClient, **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/public/notices", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


# The demo seed publishes notices of its own, valid around the day it ran: each test looks
# only at the notices it made.
DEMO_TITLES = {title for _, _, title, _ in demo_notices.NOTICES}


def titles(answer: dict[str, Any]) -> list[str]:
    return [n["title"] for n in answer["items"] if n["title"] not in DEMO_TITLES]


def test_a_published_notice_reaches_its_village_and_no_other(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    other = db.scalars(
        select(OrgUnit).where(OrgUnit.kind == "village", OrgUnit.id != village.id)
    ).first()
    assert other is not None
    draft = notice(api, auth, village.id, title="本村停水通知")
    assert draft["status"] == "draft" and draft["status_name"] == "草稿"
    assert "本村停水通知" not in titles(public(api, village=village.id))  # a draft is not shown
    step = api.post(f"/api/v1/notices/{draft['id']}/publish", json={"version": draft["version"]},
                    headers=auth("demo_operator"))  # fmt: skip
    assert step.status_code == 200, step.text
    published = step.json()
    assert published["status"] == "published"
    assert published["published_by"]["id"] == world.ids["demo_operator"]
    assert [t["action"] for t in published["trail"]] == ["create", "publish"]
    assert "本村停水通知" in titles(public(api, village=village.id))
    assert "本村停水通知" not in titles(public(api, village=other.id))
    assert "本村停水通知" not in titles(public(api))  # the district page shows district notices
    shown = next(
        n for n in public(api, village=village.id)["items"] if n["title"] == "本村停水通知"
    )
    assert "created_by" not in shown and "trail" not in shown  # no staff names for the public


def test_a_signed_in_resident_sees_the_notices_of_their_area(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    resident = db.get(User, world.ids["demo_resident"])
    assert resident is not None
    home = db.get(OrgUnit, resident.home_org_id)
    assert home is not None
    notice(api, auth, home.id, user="demo_district_operator", title="居民通知", publish=True)
    notice(api, auth, int(home.path.strip("/").split("/")[0]), user="demo_district_operator",
           title="全区通知", publish=True)  # fmt: skip
    mine = api.get("/api/v1/public/notices", headers=auth("demo_resident")).json()
    assert mine["area"]["id"] == home.id
    assert {"居民通知", "全区通知"} <= set(titles(mine))
    assert titles(public(api)) == ["全区通知"]


def test_only_notices_valid_today_by_the_clock_are_shown(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    notice(api, auth, village.id, title="下周的通知", publish=True,
           valid_from=str(TODAY + timedelta(days=3)), valid_to=str(TODAY + timedelta(days=5)))  # fmt: skip
    notice(api, auth, village.id, title="昨天结束", publish=True,
           valid_from=str(TODAY - timedelta(days=3)), valid_to=str(TODAY - timedelta(days=1)))  # fmt: skip
    notice(api, auth, village.id, title="今天有效", publish=True,
           valid_from=str(TODAY), valid_to=str(TODAY))  # fmt: skip
    assert titles(public(api, village=village.id)) == ["今天有效"]
    clock.advance(timedelta(days=3))
    assert titles(public(api, village=village.id)) == ["下周的通知"]
    clock.advance(timedelta(days=3))
    assert titles(public(api, village=village.id)) == []


def test_a_withdrawn_notice_disappears_and_its_trail_says_who(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    made = notice(api, auth, village.id, title="将撤回", publish=True)
    assert "将撤回" in titles(public(api, village=village.id))
    stale = api.post(f"/api/v1/notices/{made['id']}/withdraw", json={"version": 1},
                     headers=auth("demo_operator"))  # fmt: skip
    assert stale.status_code == 409
    done = api.post(f"/api/v1/notices/{made['id']}/withdraw",
                    json={"version": made["version"], "reason": "内容有误"},
                    headers=auth("demo_operator"))  # fmt: skip
    assert done.status_code == 200, done.text
    assert done.json()["withdrawn_by"]["id"] == world.ids["demo_operator"]
    assert "将撤回" not in titles(public(api, village=village.id))
    log = db.scalars(select(NoticeLog).where(NoticeLog.notice_id == made["id"])
                     .order_by(NoticeLog.id)).all()  # fmt: skip
    assert [(r.action, r.note) for r in log][-1] == ("withdraw", "内容有误")
    again = api.post(f"/api/v1/notices/{made['id']}/publish",
                     json={"version": done.json()["version"]}, headers=auth("demo_operator"))  # fmt: skip
    assert again.status_code == 409 and again.json()["title_zh"] == "通知已撤回"


def test_writes_and_lists_keep_to_the_scope(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    district, town, other = towns(db, world)
    refused = notice(api, auth, other.id, expect=403)
    assert refused["title_zh"] == "超出管辖范围"
    assert db.scalar(select(Notice.id).where(Notice.org_id == other.id)) is None
    theirs = notice(api, auth, other.id, user=f"op{other.code}_1", title="别镇通知")
    mine = notice(api, auth, town.id, title="本镇通知")
    listed = api.get("/api/v1/notices", headers=auth("demo_operator")).json()
    ids = {n["id"] for n in listed["items"]}
    assert mine["id"] in ids and theirs["id"] not in ids
    district_list = api.get("/api/v1/notices", headers=auth("demo_district_operator")).json()
    assert {mine["id"], theirs["id"]} <= {n["id"] for n in district_list["items"]}
    assert (
        api.get(f"/api/v1/notices/{theirs['id']}", headers=auth("demo_operator")).status_code == 404
    )
    steal = api.post(f"/api/v1/notices/{theirs['id']}/withdraw", json={"version": 1},
                     headers=auth("demo_operator"))  # fmt: skip
    assert steal.status_code == 404
    assert notice(api, auth, town.id, user="demo_leader", expect=403)["status"] == 403
    assert notice(api, auth, town.id, user="demo_grid_worker", expect=403)["status"] == 403
    assert api.get("/api/v1/notices", headers=auth("demo_resident")).status_code == 403
    assert district.kind == "district"


def test_bounded_input_is_refused_in_both_languages_and_nothing_is_stored(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    before = db.scalar(select(Notice.id).order_by(Notice.id.desc()).limit(1))
    long_title = notice(api, auth, village.id, title="长" * 101, expect=422)
    assert (
        long_title["errors"][0]["field"] == "title"
        and long_title["errors"][0]["field_zh"] == "标题"
    )
    notice(api, auth, village.id, text="字" * 4001, expect=422)
    notice(api, auth, village.id, text="   ", expect=422)
    backwards = notice(api, auth, village.id, valid_from=str(TODAY), expect=422,
                       valid_to=str(TODAY - timedelta(days=1)))  # fmt: skip
    assert backwards["detail_zh"]
    notice(api, auth, village.id, valid_to=str(TODAY + timedelta(days=400)), expect=422)
    notice(api, auth, village.id, extra="x", expect=422)
    notice(api, auth, 2**31, expect=422)
    assert db.scalar(select(Notice.id).order_by(Notice.id.desc()).limit(1)) == before
    assert api.get("/api/v1/public/notices", params={"village": 0}).status_code == 422


def test_images_are_checked_like_photos_and_shown_only_while_valid(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    made = notice(api, auth, village.id, publish=True, valid_to=str(TODAY))
    url = f"/api/v1/notices/{made['id']}/images"
    fake = api.post(url, files=[("images", ("a.jpg", b"<html>not an image</html>", "image/jpeg"))],
                    headers=auth("demo_operator"))  # fmt: skip
    assert fake.status_code == 415, fake.text
    assert fake.json()["errors"][0]["field"] == "images[0]"
    assert fake.json()["errors"][0]["field_zh"] == "图片（第 1 项）"
    assert "JPEG" in fake.json()["detail_zh"]
    mixed = api.post(url, headers=auth("demo_operator"), files=[
        ("images", ("a.jpg", jpeg(), "image/jpeg")), ("images", ("b.png", b"GIF89a....", "image/png")),
    ])  # fmt: skip
    assert mixed.status_code == 415 and mixed.json()["errors"][0]["field"] == "images[1]"
    assert db.get(Notice, made["id"]).images == []  # type: ignore[union-attr]
    too_many = api.post(url, headers=auth("demo_operator"),
                        files=[("images", (f"{i}.jpg", jpeg(), "image/jpeg")) for i in range(5)])  # fmt: skip
    assert too_many.status_code == 422
    good = api.post(url, files=[("images", ("a.jpg", jpeg("blue"), "image/jpeg"))],
                    headers=auth("demo_operator"))  # fmt: skip
    assert good.status_code == 201, good.text
    mine = [n for n in public(api, village=village.id)["items"] if n["id"] == made["id"]]
    image = mine[0]["images"][0]
    assert image["width"] == 64
    shown = api.get(image["url"])
    assert shown.status_code == 200 and shown.headers["content-type"] == "image/jpeg"
    assert api.post(url, files=[("images", ("a.jpg", jpeg(), "image/jpeg"))],
                    headers=auth("demo_grid_worker")).status_code == 403  # fmt: skip
    clock.advance(timedelta(days=1))
    assert api.get(image["url"]).status_code == 404  # no longer valid: no longer public
    staff = api.get(f"/api/v1/notices/{made['id']}/images/0", headers=auth("demo_operator"))
    assert staff.status_code == 200


def test_the_village_chooser_lists_towns_with_their_villages(
    api: TestClient, db: Session, world: World
) -> None:
    places = api.get("/api/v1/public/notices/places").json()
    village = village_of(db, world, "demo_grid_worker")
    assert any(v["id"] == village.id for town in places for v in town["villages"])


def test_a_notice_is_edited_with_the_version_read(
    api: TestClient, auth: Auth, db: Session, world: World
) -> None:
    village = village_of(db, world, "demo_grid_worker")
    made = notice(api, auth, village.id, title="旧标题")
    url = f"/api/v1/notices/{made['id']}"
    edited = api.patch(url, json={"title": "新标题", "version": made["version"]},
                       headers=auth("demo_operator"))  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert (
        edited.json()["title"] == "新标题" and edited.json()["trail"][-1]["action_name"] == "修改"
    )
    stale = api.patch(url, json={"title": "再改", "version": made["version"]},
                      headers=auth("demo_operator"))  # fmt: skip
    assert stale.status_code == 409
    null = api.patch(url, json={"title": None, "version": edited.json()["version"]},
                     headers=auth("demo_operator"))  # fmt: skip
    assert null.status_code == 422 and null.json()["errors"][0]["field"] == "title"
    backwards = api.patch(url, headers=auth("demo_operator"), json={
        "valid_to": str(TODAY - timedelta(days=1)), "version": edited.json()["version"]})  # fmt: skip
    assert backwards.status_code == 422
    assert db.get(Notice, made["id"]).title == "新标题"  # type: ignore[union-attr]

"""随手拍 from the residents' app through the one filing path (issue 19, item 1), and the nearby
reports with 我也遇到 (item 3): classes hidden as in Open311, a point outside the district, a
photo that is not an image, an idempotent retry; nearby reports in public words, 我也遇到 once
per resident, scoped, bad input refused."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.events.models import Attachment, Event, EventMeToo
from fengqiao.taxonomy.snapshot import load_rules
from tests.events.conftest import World, jpeg
from tests.residents.conftest import SignIn

ALICE, BOB = "13900000001", "13900000002"


def _hidden_class(db: Session) -> str:
    return next(
        code for code, c in sorted(load_rules(db).categories.items()) if c.major_code == "02"
    )


def _file(
    api: TestClient,
    headers: dict[str, str],
    world: World,
    *,
    category: str | None = None,
    point: tuple[float, float] | None = None,
    photos: list[bytes] | None = None,
    key: str | None = None,
) -> Any:
    lat, lng = point or world.grid_point
    fields = {
        "source": "resident", "category": category or world.handler_category,
        "description": "路边有人占道经营", "lat": str(lat), "lng": str(lng), "address": "柯桥街道某路",
    }  # fmt: skip
    extra = {"Idempotency-Key": key} if key else {}
    if not photos:  # JSON, as the app sends a report without photos
        body = {**fields, "lat": lat, "lng": lng}
        return api.post("/api/v1/events", json=body, headers={**headers, **extra})
    files = [("photos", (f"p{i}.jpg", data, "image/jpeg")) for i, data in enumerate(photos)]
    return api.post("/api/v1/events", data=fields, files=files, headers={**headers, **extra})


def _count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


def test_the_resident_classes_hide_the_security_classes(api: TestClient, db: Session) -> None:
    body = api.get("/api/v1/public/report-classes").json()
    majors = {m["code"] for m in body["majors"]}
    assert "02" not in majors and "03" not in majors and majors
    codes = {c["code"] for c in body["categories"]}
    rules = load_rules(db)
    assert codes == {
        code
        for code, c in rules.categories.items()
        if c.active and c.major_code not in ("02", "03")
    }


def test_a_resident_files_with_a_photo_and_gets_the_code(
    api: TestClient, db: Session, sign_in: SignIn, world: World
) -> None:
    filed = _file(api, sign_in(ALICE), world, photos=[jpeg()], key="k-1")
    assert filed.status_code == 201, filed.text
    body = filed.json()
    assert body["code"] and body["source"] == "resident" and body["status"] == "reported"
    event = db.get(Event, body["id"])
    assert event is not None and event.source == "resident"
    assert _count(db, Attachment) >= 1
    # The offline queue's retry with the same key: the first event, not a second one.
    again = _file(api, sign_in(ALICE), world, photos=[jpeg()], key="k-1")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_a_hidden_class_is_refused_as_unknown(
    api: TestClient, db: Session, sign_in: SignIn, world: World
) -> None:
    before = _count(db, Event)
    refused = _file(api, sign_in(ALICE), world, category=_hidden_class(db), photos=[jpeg()])
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "category"
    assert "不存在或已停用" in refused.json()["detail_zh"]
    assert _count(db, Event) == before


def test_a_report_outside_the_district_is_refused(
    api: TestClient, db: Session, sign_in: SignIn, world: World
) -> None:
    before = _count(db, Event)
    refused = _file(api, sign_in(ALICE), world, point=(31.23, 121.47), photos=[jpeg()])  # 上海
    assert refused.status_code == 422
    assert refused.json()["type"].endswith("/outside-district")
    assert refused.json()["detail_zh"]
    assert _count(db, Event) == before


def test_a_photo_that_is_not_an_image_is_refused_and_nothing_stored(
    api: TestClient, db: Session, sign_in: SignIn, world: World
) -> None:
    before = (_count(db, Event), _count(db, Attachment))
    refused = _file(api, sign_in(ALICE), world, photos=[b"<html>not a photo</html>"])
    assert refused.status_code == 415, refused.text
    assert "不是 JPEG" in refused.json()["detail_zh"]
    assert refused.json()["detail_zh"]
    assert (_count(db, Event), _count(db, Attachment)) == before


def _nearby(api: TestClient, world: World, category: str, **kw: Any) -> Any:
    lat, lng = world.grid_point
    return api.get(
        "/api/v1/public/reports/nearby", params={"lat": lat, "lng": lng, "category": category}, **kw
    )


def test_nearby_offers_open_reports_of_the_class_in_public_words(
    api: TestClient, db: Session, sign_in: SignIn, world: World
) -> None:
    filed = _file(api, sign_in(ALICE), world).json()
    found = _nearby(api, world, world.handler_category)
    assert found.status_code == 200, found.text
    (item,) = [i for i in found.json()["items"] if i["code"] == filed["code"]]
    assert item["status"] == "submitted" and item["status_zh"] == "已提交"
    assert item["distance_m"] == 0 and item["me_too"] == 0 and item["mine"] is False
    assert set(item) == {
        "code",
        "category",
        "category_name",
        "status",
        "status_zh",
        "distance_m",
        "reported_on",
        "me_too",
        "mine",
    }  # fmt: skip  (no names, no description, no exact point)
    # The reporter sees it as theirs.
    own = _nearby(api, world, world.handler_category, headers=sign_in(ALICE)).json()
    assert [i["mine"] for i in own["items"] if i["code"] == filed["code"]] == [True]
    other = _nearby(api, world, world.other_category).json()
    assert filed["code"] not in {i["code"] for i in other["items"]}


def test_nearby_refuses_bad_input(api: TestClient, db: Session, world: World) -> None:
    hidden = _nearby(api, world, _hidden_class(db))
    assert hidden.status_code == 422 and hidden.json()["errors"][0]["field"] == "category"
    assert _nearby(api, world, "9999").status_code == 422
    outside = api.get(
        "/api/v1/public/reports/nearby",
        params={"lat": 31.23, "lng": 121.47, "category": world.handler_category},
    )
    assert outside.status_code == 422 and outside.json()["type"].endswith("/outside-district")
    for params in ({"lat": 95, "lng": 120.5, "category": "0101"}, {"lat": "x", "lng": 1},
                   {"lat": 30, "lng": 120.5, "category": "9" * 17}):  # fmt: skip
        bad = api.get("/api/v1/public/reports/nearby", params=params)
        assert bad.status_code == 422 and bad.json()["detail_zh"]


def test_me_too_counts_once_per_resident(
    api: TestClient, db: Session, sign_in: SignIn, world: World, auth: Any
) -> None:
    filed = _file(api, sign_in(ALICE), world).json()
    bob = sign_in(BOB)
    first = api.post(f"/api/v1/public/reports/{filed['code']}/me-too", headers=bob)
    assert first.status_code == 201, first.text
    assert first.json() == {"code": filed["code"], "me_too": 1, "added": True}
    again = api.post(f"/api/v1/public/reports/{filed['code']}/me-too", headers=bob)
    assert again.status_code == 200 and again.json()["me_too"] == 1
    carol = sign_in("13900000003")
    assert (
        api.post(f"/api/v1/public/reports/{filed['code']}/me-too", headers=carol).json()["me_too"]
        == 2
    )
    assert _count(db, EventMeToo) == 2
    # Shown in the nearby list, and to staff of the event's area on the event.
    (item,) = [
        i
        for i in _nearby(api, world, world.handler_category, headers=bob).json()["items"]
        if i["code"] == filed["code"]
    ]
    assert item["me_too"] == 2 and item["mine"] is True
    staff = api.get(f"/api/v1/events/{filed['id']}/me-too", headers=auth("demo_operator"))
    assert staff.status_code == 200 and staff.json()["me_too"] == 2
    mine = api.get(f"/api/v1/events/{filed['id']}/me-too", headers=sign_in(ALICE))
    assert mine.status_code == 200 and mine.json()["me_too"] == 2


def test_me_too_is_scoped_and_refuses_bad_input(
    api: TestClient, db: Session, sign_in: SignIn, world: World, auth: Any
) -> None:
    alice = sign_in(ALICE)
    filed = _file(api, alice, world).json()
    url = f"/api/v1/public/reports/{filed['code']}/me-too"
    own = api.post(url, headers=alice)
    assert own.status_code == 409 and "自己" in own.json()["detail_zh"]
    assert api.post(url).status_code == 401  # signed in only
    staff = api.post(url, headers=auth("demo_operator"))
    assert staff.status_code == 403 and staff.json()["detail_zh"]
    bob = sign_in(BOB)
    assert api.post("/api/v1/public/reports/NOPE-1/me-too", headers=bob).status_code == 404
    assert (
        api.post("/api/v1/public/reports/" + "x" * 41 + "/me-too", headers=bob).status_code == 422
    )
    # A report of a hidden class is not found, whoever filed it.
    hidden = api.post(
        "/api/v1/events",
        json={"source": "grid_worker", "category": _hidden_class(db), "lat": world.grid_point[0],
              "lng": world.grid_point[1], "description": "治安隐患"},
        headers=auth("demo_grid_worker"),
    ).json()  # fmt: skip
    assert (
        api.post(f"/api/v1/public/reports/{hidden['code']}/me-too", headers=bob).status_code == 404
    )
    # A closed report is refused.
    event = db.get(Event, filed["id"])
    assert event is not None
    db.execute(update(Event).where(Event.id == event.id).values(status="closed"))
    db.commit()
    closed = api.post(url, headers=bob)
    assert closed.status_code == 409 and "办结" in closed.json()["detail_zh"]
    assert _count(db, EventMeToo) == 0
    # Staff outside the event's unit and area do not read its count.
    other = api.get(f"/api/v1/events/{filed['id']}/me-too", headers=bob)
    assert other.status_code == 404

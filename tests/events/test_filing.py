"""Filing events through `POST /api/v1/events`: resolution, routing, deadlines, codes,
idempotency, duplicates, photos, and every refusal storing nothing."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.events.models import Attachment, Event, EventLog
from fengqiao.events.schemas import SOURCES
from fengqiao.events.sources import SOURCE_TABLE, SOURCE_ZH

from .conftest import Desk, World, jpeg


def _counts(db: Session) -> tuple[int, int, int]:
    return (
        db.scalar(select(func.count()).select_from(Event)) or 0,
        db.scalar(select(func.count()).select_from(EventLog)) or 0,
        db.scalar(select(func.count()).select_from(Attachment)) or 0,
    )


def test_filing_resolves_the_place_routes_and_starts_the_deadline(desk: Desk, world: World) -> None:
    event = desk.file()
    assert event["status"] == "reported" and event["source"] == "grid_worker"
    assert event["grid"]["id"] and event["village"]["id"] and event["town"]["id"]
    assert re.fullmatch(r"\d{3}-20261201-0001", event["code"])
    assert event["proposed_unit"]["id"] == world.handler_unit
    assert event["routing_state"] == "proposed" and event["routing_rule_id"]
    # Level 2: three working days from Tuesday 09:00 is Friday 09:00.
    due = datetime.fromisoformat(event["due_at"]).astimezone(LOCAL_TZ)
    assert (due.year, due.month, due.day, due.hour, due.minute) == (2026, 12, 4, 9, 0)
    assert event["light"] == "green" and event["duplicates"] == []
    detail = desk.get(event)
    assert [row["action"] for row in detail["trail"]] == ["report"]
    assert detail["trail"][0]["payload"]["routing"]["unit_id"] == world.handler_unit


def test_codes_count_up_per_town_and_day(desk: Desk, world: World, clock: Any) -> None:
    first = desk.file()
    second = desk.file(category=world.other_category)
    assert first["code"].endswith("-0001") and second["code"].endswith("-0002")
    clock.advance(timedelta(days=1))
    assert desk.file()["code"].endswith("-20261202-0001")


def test_a_retry_with_the_same_idempotency_key_returns_the_first_event(
    desk: Desk, db: Session
) -> None:
    first = desk.file(idempotency_key="phone-42-report-7")
    before = _counts(db)
    again = desk.file(idempotency_key="phone-42-report-7", expect=200, description="重复提交")
    assert again["id"] == first["id"] and again["code"] == first["code"]
    assert _counts(db) == before
    # Another reporter may use the same key for their own event.
    other = desk.file("demo_grid_leader", idempotency_key="phone-42-report-7")
    assert other["id"] != first["id"]


def test_nearby_open_events_of_the_same_class_are_likely_duplicates(
    desk: Desk, world: World
) -> None:
    first = desk.file()
    lat, lng = world.grid_point
    second = desk.file(lat=lat + 0.0002, lng=lng)  # about 22 m north
    assert [d["id"] for d in second["duplicates"]] == [first["id"]]
    assert 15 < second["duplicates"][0]["distance_m"] < 30
    assert desk.file(category=world.other_category)["duplicates"] == []
    merged = desk.act(second, "demo_operator", "merge", into=first["id"])
    assert merged["status"] == "merged" and merged["duplicate_of_id"] == first["id"]


def test_residents_and_devices_cannot_set_level_or_urgency(desk: Desk, db: Session) -> None:
    before = _counts(db)
    refused = desk.file("demo_resident", source="resident", level=3, expect=422)
    assert refused["errors"][0]["field"] == "level" and refused["errors"][0]["reason_zh"]
    assert _counts(db) == before
    filed = desk.file("demo_resident", source="resident")
    assert filed["level"] >= 1 and filed["urgent"] is False


def test_a_source_the_caller_may_not_use_is_refused(desk: Desk, db: Session) -> None:
    before = _counts(db)
    problem = desk.file("demo_resident", source="hotline", expect=403)
    assert problem["type"].endswith("/forbidden") and problem["detail_zh"]
    assert desk.file("demo_handler", expect=403)["status"] == 403
    assert _counts(db) == before


def test_bad_input_is_refused_and_stores_nothing(
    desk: Desk, db: Session, api: TestClient, auth: Any
) -> None:
    before = _counts(db)
    unknown = desk.file(category="9999", expect=422)
    assert unknown["errors"][0]["field"] == "category"
    outside = desk.file(lat=31.5, lng=121.5, expect=422)
    assert outside["type"].endswith("/outside-district")
    swapped = desk.file(lat=120.5, lng=30.09, expect=422)
    assert swapped["errors"][0]["field"] == "lat"
    bad_crs = desk.file(crs="mars", expect=422)
    assert bad_crs["errors"][0]["field"] == "crs"
    missing = api.post(
        "/api/v1/events",
        json={"source": "grid_worker", "category": "0101"},
        headers=auth("demo_grid_worker"),
    )
    assert missing.status_code == 422
    assert {e["field"] for e in missing.json()["errors"]} == {"lat", "lng"}
    not_json = api.post(
        "/api/v1/events",
        content=b"{oops",
        headers={**auth("demo_grid_worker"), "Content-Type": "application/json"},
    )
    assert not_json.status_code == 422 and not_json.json()["errors"][0]["field"] == "body"
    extra = desk.file(colour="red", expect=422)
    assert extra["errors"][0]["field"] == "colour"
    assert _counts(db) == before


def test_multipart_filing_with_photos(
    api: TestClient, auth: Any, world: World, db: Session
) -> None:
    lat, lng = world.grid_point
    fields = {
        "source": "grid_worker",
        "category": world.handler_category,
        "lat": str(lat),
        "lng": str(lng),
    }
    response = api.post(
        "/api/v1/events",
        data=fields,
        files=[
            ("photos", ("a.jpg", jpeg("red"), "image/jpeg")),
            ("photos", ("b.jpg", jpeg("blue"), "image/jpeg")),
        ],
        headers=auth("demo_grid_worker"),
    )
    assert response.status_code == 201, response.text
    event = response.json()
    detail = api.get(f"/api/v1/events/{event['id']}", headers=auth("demo_operator")).json()
    assert [a["kind"] for a in detail["attachments"]] == ["report", "report"]
    photo = api.get(detail["attachments"][0]["url"], headers=auth("demo_operator"))
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"
    assert photo.content == jpeg("red")
    # A resident who did not report it may not see it, nor its photos.
    assert (
        api.get(detail["attachments"][0]["url"], headers=auth("demo_resident")).status_code == 404
    )


def test_a_file_that_is_not_an_image_stores_nothing(
    api: TestClient, auth: Any, world: World, db: Session
) -> None:
    before = _counts(db)
    lat, lng = world.grid_point
    response = api.post(
        "/api/v1/events",
        data={
            "source": "grid_worker",
            "category": world.handler_category,
            "lat": str(lat),
            "lng": str(lng),
        },
        files=[("photos", ("photo.jpg", b"%PDF-1.7 not a photo", "image/jpeg"))],
        headers=auth("demo_grid_worker"),
    )
    assert response.status_code == 415
    assert response.json()["errors"][0]["field"] == "photos[0]"
    assert _counts(db) == before


def test_staff_file_only_in_their_own_area(desk: Desk, world: World) -> None:
    lat, lng = world.other_grid_point
    # The grid worker's town is the same, so a neighbouring village is still theirs to report.
    assert desk.file(lat=lat, lng=lng)["status"] == "reported"


def test_oversized_and_bomb_photos_are_refused_and_store_nothing(
    api: TestClient, auth: Any, world: World, db: Session, seeded: Any
) -> None:
    from .test_photos import _png_bomb

    before = _counts(db)
    lat, lng = world.grid_point
    fields = {
        "source": "grid_worker",
        "category": world.handler_category,
        "lat": str(lat),
        "lng": str(lng),
    }
    limit = seeded.settings.photo_max_bytes
    for photo, status, slug in (
        (_png_bomb(20000, 20000), 422, "photo-too-many-pixels"),
        (jpeg() + b"\0" * limit, 413, "photo-too-large"),
    ):
        response = api.post(
            "/api/v1/events",
            data=fields,
            files=[("photos", ("p.png", photo, "image/png"))],
            headers=auth("demo_grid_worker"),
        )
        assert response.status_code == status, response.text
        assert response.json()["type"].endswith(slug)
    assert _counts(db) == before


def test_an_override_moves_new_deadlines(api: TestClient, auth: Any, desk: Any, clock: Any) -> None:
    first = desk.file()
    # Declare Wednesday and Thursday rest days (e.g. a typhoon): three working days from Tuesday
    # 09:00 now end on the Tuesday after.
    for day in ("2026-12-02", "2026-12-03"):
        assert (
            api.put(
                f"/api/v1/sla/calendar/{day}", json={"is_working": False}, headers=auth("admin")
            ).status_code
            == 200
        )
    second = desk.file(category=desk.world.other_category)
    due_first = datetime.fromisoformat(first["due_at"]).astimezone(LOCAL_TZ)
    due_second = datetime.fromisoformat(second["due_at"]).astimezone(LOCAL_TZ)
    assert (due_first.day, due_second.day) == (4, 8)
    assert desk.get(first)["due_at"] == first["due_at"]  # filed events keep their deadlines


def test_a_refused_report_leaves_no_photo_on_disk(
    api: TestClient, auth: Any, world: World, tmp_path: Any
) -> None:
    lat, lng = world.grid_point
    response = api.post(
        "/api/v1/events",
        data={"source": "grid_worker", "category": "9999", "lat": str(lat), "lng": str(lng)},
        files=[("photos", ("a.jpg", jpeg("purple"), "image/jpeg"))],
        headers=auth("demo_grid_worker"),
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "category"
    photos = tmp_path / "photos"
    assert not photos.exists() or not any(p.is_file() for p in photos.rglob("*"))


def test_the_source_table_covers_every_source_the_api_takes() -> None:
    # One row per source, in the order the API and the pages list them.
    assert tuple(s.code for s in SOURCE_TABLE) == SOURCES
    assert list(SOURCE_ZH) == list(SOURCES)
    assert all(source.roles for source in SOURCE_TABLE)
    assert not any(source.staff and source.machine for source in SOURCE_TABLE)

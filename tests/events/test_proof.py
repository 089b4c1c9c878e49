"""Proof before closing (issue 17, item 2): 反馈 needs a photo (unless its class says otherwise)
and a result; 核查通过 needs the verifier's on-site photo, fresh and near, and a confirmation, and a
refusal names every condition that failed; photos say what they are (上报/处置前/处置后/核查) and
where they came from (camera or album, the phone's position at upload)."""

from __future__ import annotations

import importlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from fengqiao.app import create_app
from fengqiao.cli import app as cli_app
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.db import Database
from fengqiao.events.models import Attachment
from fengqiao.events.proof import PhotoFacts, ProofPolicy, check_verify, read_photo
from fengqiao.taxonomy.models import Category

from .conftest import Auth, Desk, World, jpeg

# About 500 m north of a point (a degree of latitude is about 111 km).
FAR = 0.0045
NEAR = 0.0004  # about 45 m


def signed(desk: Desk) -> dict[str, Any]:
    event = desk.act(desk.file(), "demo_operator", "accept")
    event = desk.act(event, "demo_operator", "dispatch")
    return desk.act(event, "demo_handler", "sign")


def fields_of(problem: dict[str, Any]) -> list[str]:
    return [error["field"] for error in problem["errors"]]


# --- 反馈 ---------------------------------------------------------------------------------


def test_feedback_without_its_photo_or_result_is_refused_naming_what_is_missing(
    desk: Desk, db: Session
) -> None:
    event = signed(desk)
    both = desk.act(event, "demo_handler", "feedback", expect=422)
    assert both["type"].endswith("/evidence-required")
    assert fields_of(both) == ["result", "attachment_ids"]
    assert "处置结果" in both["detail_zh"] and "处置后照片" in both["detail_zh"]
    no_photo = desk.act(event, "demo_handler", "feedback", result="已清理", expect=422)
    assert fields_of(no_photo) == ["attachment_ids"]
    assert no_photo["errors"][0]["reason_zh"] == "请上传至少一张处置后照片"
    # An older client's `evidence` photo counts, and is labelled 处置后 by the step.
    photo = desk.photo(event, "demo_handler", "evidence")
    no_result = desk.act(event, "demo_handler", "feedback", attachment_ids=[photo], expect=422)
    assert fields_of(no_result) == ["result"] and no_result["errors"][0]["reason_zh"]
    handled = desk.act(event, "demo_handler", "feedback", result="已清理", attachment_ids=[photo])
    assert handled["status"] == "handled"
    assert handled["trail"][-1]["payload"]["labelled"] == {"after": [photo]}
    assert [a["kind"] for a in handled["attachments"]] == ["after"]


def test_a_class_can_let_feedback_go_without_a_photo(
    desk: Desk, api: TestClient, auth: Auth, world: World
) -> None:
    code = world.handler_category
    assert desk.api.get("/api/v1/categories", headers=auth("admin")).json()["categories"][0][
        "feedback_photo_required"
    ]
    refused = api.patch(
        f"/api/v1/categories/{code}", json={"feedback_photo_required": None}, headers=auth("admin")
    )
    assert refused.status_code == 422
    changed = api.patch(
        f"/api/v1/categories/{code}", json={"feedback_photo_required": False}, headers=auth("admin")
    )
    assert changed.status_code == 200 and changed.json()["feedback_photo_required"] is False
    event = signed(desk)
    # The result is still needed; the photo no longer is.
    assert fields_of(desk.act(event, "demo_handler", "feedback", expect=422)) == ["result"]
    handled = desk.act(event, "demo_handler", "feedback", result="电话回访，已调解")
    assert handled["status"] == "handled" and handled["attachments"] == []


def test_the_cli_switches_the_feedback_photo_of_a_class(cli_db: Database) -> None:
    runner = CliRunner()
    assert runner.invoke(cli_app, ["taxonomy", "import"]).exit_code == 0
    off = runner.invoke(cli_app, ["taxonomy", "feedback-photo", "0101", "--optional"])
    assert off.exit_code == 0 and "optional" in off.output

    def required() -> bool:
        with cli_db.session() as session:
            category = session.get(Category, "0101")
            assert category is not None
            return category.feedback_photo_required

    assert required() is False
    assert (
        runner.invoke(cli_app, ["taxonomy", "feedback-photo", "0101", "--required"]).exit_code == 0
    )
    assert required() is True
    assert (
        runner.invoke(cli_app, ["taxonomy", "feedback-photo", "9999", "--optional"]).exit_code == 1
    )


# --- 核查 ---------------------------------------------------------------------------------


def test_a_failed_verification_says_which_condition_failed(desk: Desk, clock: FixedClock) -> None:
    event = desk.to_handled(desk.file())
    lat, lng, now = event["lat"], event["lng"], clock.now()

    def refused(*photo_ids: int, confirmed: bool | None = True) -> list[dict[str, str]]:
        problem = desk.act(
            event, "demo_grid_worker", "verify", ok=True, confirmed=confirmed,
            attachment_ids=list(photo_ids), expect=422,
        )  # fmt: skip
        assert problem["type"].endswith("/verification-proof") and problem["title_zh"]
        return list(problem["errors"])

    # No photo and no confirmation: both said.
    nothing = refused(confirmed=None)
    assert [e["field"] for e in nothing] == ["attachment_ids", "confirmed"]
    assert nothing[1]["reason_zh"] == "请勾选确认：已到现场核实问题已解决"
    # Too old: taken 45 minutes ago at the event (EXIF), the limit is 30.
    old = desk.photo(
        event, "demo_grid_worker", "verify",
        data=jpeg("blue", taken_at=now - timedelta(minutes=45), lat=lat, lng=lng),
    )  # fmt: skip
    [too_old] = refused(old)
    assert too_old["field"] == "taken_at"
    assert "45 分钟前" in too_old["reason_zh"] and "30 分钟" in too_old["reason_zh"]
    assert "照片自带的拍摄时间" in too_old["reason_zh"] and "45 minutes ago" in too_old["reason"]
    # Too far: the phone stood about 500 m away when it uploaded a photo without EXIF.
    far = desk.photo(
        event, "demo_grid_worker", "verify", form=desk.on_site(event, device_lat=str(lat + FAR))
    )
    [too_far] = refused(far)
    assert too_far["field"] == "photo_position" and "200 米" in too_far["reason_zh"]
    metres = int(too_far["reason_zh"].split("距事件位置 ")[1].split(" 米")[0])
    assert 480 <= metres <= 520 and "手机定位" in too_far["reason_zh"]
    # No position: no EXIF GPS and no phone position.
    [nowhere] = refused(desk.photo(event, "demo_grid_worker", "verify"))
    assert nowhere["field"] == "photo_position" and "没有位置信息" in nowhere["reason_zh"]
    # A phone position too coarse to place the photo is no position either.
    coarse = desk.photo(
        event, "demo_grid_worker", "verify", form=desk.on_site(event, device_accuracy="800")
    )
    [vague] = refused(coarse)
    assert vague["field"] == "photo_position" and "精度仅 800 米" in vague["reason_zh"]
    # Old and far at once: both said.
    both = desk.photo(
        event, "demo_grid_worker", "verify",
        data=jpeg(taken_at=now - timedelta(hours=2), lat=lat + FAR, lng=lng),
    )  # fmt: skip
    assert [e["field"] for e in refused(both)] == ["taken_at", "photo_position"]
    # A fresh photo at the event, but no confirmation.
    good = desk.photo(event, "demo_grid_worker", "verify", form=desk.on_site(event))
    assert [e["field"] for e in refused(good, confirmed=False)] == ["confirmed"]
    # Someone else's photo (the handler's, fresh and on site) is not the verifier's proof.
    theirs = desk.photo(event, "demo_handler", "after", form=desk.on_site(event))
    assert [e["field"] for e in refused(theirs)] == ["attachment_ids"]
    # Nothing was stored by the refusals.
    assert desk.get(event)["status"] == "handled"


def test_verification_passes_with_a_fresh_near_photo_from_its_exif(
    desk: Desk, clock: FixedClock
) -> None:
    event = desk.to_handled(desk.file())
    clock.advance(timedelta(hours=3))
    now = clock.now()
    # Taken 10 minutes ago about 45 m away; uploaded as `after` by an older client and named by
    # nobody: the verifier's photos since the feedback are taken, and the one is labelled 核查.
    desk.photo(
        event, "demo_grid_worker", "after",
        data=jpeg(taken_at=now - timedelta(minutes=10), lat=event["lat"] + NEAR, lng=event["lng"]),
    )  # fmt: skip
    closed = desk.act(event, "demo_grid_worker", "verify", ok=True, confirmed=True)
    assert closed["status"] == "closed"
    proof = closed["trail"][-1]["payload"]["proof"]
    assert (proof["time_from"], proof["place_from"]) == ("exif", "exif")
    assert proof["age_minutes"] == 10.0 and 40 <= proof["distance_m"] <= 50
    assert proof["origin"] == "unknown"
    kinds = {a["id"]: a["kind"] for a in closed["attachments"]}
    assert kinds[proof["attachment_id"]] == "verify"
    assert sorted(kinds.values()) == ["after", "verify"]


def test_verification_passes_with_the_phones_position_at_upload(desk: Desk) -> None:
    event = desk.to_handled(desk.file())
    closed = desk.verify_ok(event)
    assert closed["status"] == "closed"
    proof = closed["trail"][-1]["payload"]["proof"]
    assert (proof["time_from"], proof["place_from"], proof["origin"]) == (
        "device", "device", "camera",
    )  # fmt: skip
    assert proof["distance_m"] == 0.0 and closed["trail"][-1]["payload"]["confirmed"] is True


def test_sending_back_for_rework_needs_only_the_reason(desk: Desk) -> None:
    event = desk.to_handled(desk.file())
    assert fields_of(desk.act(event, "demo_grid_worker", "verify", ok=False, expect=422)) == [
        "note"
    ]
    back = desk.act(event, "demo_grid_worker", "verify", ok=False, note="摊位又回来了")
    assert back["status"] == "signed" and back["rework_count"] == 1


def test_the_limits_are_settings(
    bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any, auth: Auth, world: World
) -> None:
    settings = seeded.settings.model_copy(
        update={
            "data_dir": tmp_path, "rules_check_seconds": 0,
            "verify_photo_max_age_minutes": 60, "verify_photo_max_distance_m": 600,
        }
    )  # fmt: skip
    with TestClient(create_app(settings, database=bound, clock=clock)) as api:
        desk = Desk(api, auth, world)
        event = desk.to_handled(desk.file())
        photo = desk.photo(
            event, "demo_grid_worker", "verify",
            data=jpeg(taken_at=clock.now() - timedelta(minutes=45), lat=event["lat"] + FAR,
                      lng=event["lng"]),
        )  # fmt: skip
        closed = desk.act(
            event, "demo_grid_worker", "verify", ok=True, confirmed=True, attachment_ids=[photo]
        )
        assert closed["status"] == "closed"


def test_exif_wins_when_believable_and_the_phone_speaks_otherwise() -> None:
    now = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
    policy = ProofPolicy()
    base = PhotoFacts(id=1, kind="verify", uploaded_by=7, uploaded_at=now - timedelta(minutes=1))
    phone = replace(
        base, device_lat=30.0, device_lng=120.0, device_accuracy=15.0,
        device_at=now - timedelta(minutes=2),
    )  # fmt: skip
    # EXIF time and place beat the phone's: here they fail where the phone's would pass.
    exif_far = replace(phone, taken_at=now - timedelta(minutes=50), lat=30.0 + FAR, lng=120.0)
    reading = read_photo(exif_far, lat=30.0, lng=120.0, now=now, policy=policy)
    assert (reading.time_from, reading.place_from) == ("exif", "exif")
    assert [f.field for f in reading.failures] == ["taken_at", "photo_position"]
    # An EXIF time after the upload (a phone clock far ahead) is not believed.
    ahead = replace(phone, taken_at=now + timedelta(hours=1))
    reading = read_photo(ahead, lat=30.0, lng=120.0, now=now, policy=policy)
    assert reading.time_from == "device" and reading.place_from == "device"
    assert reading.failures == ()
    # Neither EXIF nor the phone's fix time: the upload's own time.
    bare = replace(base, device_lat=30.0, device_lng=120.0)
    assert read_photo(bare, lat=30.0, lng=120.0, now=now, policy=policy).time_from == "upload"
    # Of several photos the one that passes speaks.
    assert (
        check_verify(
            photos=[exif_far, ahead], confirmed=True, lat=30.0, lng=120.0, now=now, policy=policy
        ).photo
        is ahead
    )


# --- the upload contract and the kinds -----------------------------------------------------


def test_uploads_record_origin_and_the_phones_position(desk: Desk, clock: FixedClock) -> None:
    event = signed(desk)
    at = clock.now().astimezone(LOCAL_TZ)
    response = desk.upload(
        event, "demo_handler", None, count=2,
        form={"origin": ["camera", "album"], "device_lat": "30.1", "device_lng": "120.5",
              "device_accuracy": "12.5", "device_at": at.isoformat()},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    first, second = response.json()
    assert (first["origin"], second["origin"]) == ("camera", "album")
    assert first["kind"] == second["kind"] == "after"  # no kind given: the handling's, by state
    assert (first["device_lat"], first["device_lng"], first["device_accuracy"]) == (
        30.1, 120.5, 12.5,
    )  # fmt: skip
    assert datetime.fromisoformat(first["device_at"]) == at
    plain = desk.upload(event, "demo_handler", "before").json()[0]
    assert (plain["origin"], plain["device_lat"], plain["kind"]) == ("unknown", None, "before")


def test_uploads_refuse_nonsense_capture_fields(desk: Desk) -> None:
    event = signed(desk)
    cases: list[tuple[dict[str, Any], str]] = [
        ({"origin": ["camera", "album"]}, "origin"),  # two origins for one photo
        ({"origin": "selfie"}, "origin[0]"),
        ({"device_lat": "30.1"}, "device_lng"),
        ({"device_lat": "95", "device_lng": "120"}, "device_lat"),
        ({"device_lat": "nan", "device_lng": "120"}, "device_lat"),
        ({"device_lat": "30", "device_lng": "120", "device_accuracy": "-1"}, "device_accuracy"),
        ({"device_lat": "30", "device_lng": "120", "device_at": "2026-12-01 09:00"}, "device_at"),
        ({"device_lat": "30", "device_lng": "120", "device_at": "yesterday"}, "device_at"),
        ({"device_lat": "30", "device_lng": "120", "device_at": "2027-06-01T09:00:00+08:00"},
         "device_at"),
        ({"device_at": "2026-12-01T09:00:00+08:00"}, "device_at"),
        ({"device_lat": "3" * 100, "device_lng": "120"}, "device_lat"),
    ]  # fmt: skip
    for form, field in cases:
        response = desk.upload(event, "demo_handler", "after", form=form)
        assert response.status_code == 422, (form, response.text)
        error = response.json()["errors"][0]
        assert error["field"] == field and error["reason_zh"], (form, error)
    # Nothing was stored by the refusals.
    assert desk.get(event)["attachments"] == []


def test_filed_photos_are_report_photos_and_kinds_follow_the_state(
    desk: Desk, api: TestClient, auth: Auth, world: World, clock: FixedClock
) -> None:
    lat, lng = world.grid_point
    response = api.post(
        "/api/v1/events",
        data={"source": "grid_worker", "category": world.handler_category, "lat": str(lat),
              "lng": str(lng), "origin": ["album", "camera"], "device_lat": str(lat),
              "device_lng": str(lng), "device_at": clock.now().isoformat()},
        files=[("photos", ("a.jpg", jpeg("red"), "image/jpeg")),
               ("photos", ("b.jpg", jpeg("blue"), "image/jpeg"))],
        headers=auth("demo_grid_worker"),
    )  # fmt: skip
    assert response.status_code == 201, response.text
    event = desk.get(response.json())
    assert [(a["kind"], a["origin"]) for a in event["attachments"]] == [
        ("report", "album"), ("report", "camera"),
    ]  # fmt: skip
    assert event["attachments"][0]["device_lat"] == lat
    # No kind given: 上报 before dispatch, 核查 while it waits for verification.
    assert desk.upload(event, "demo_grid_worker", None).json()[0]["kind"] == "report"
    handled = desk.to_handled(event)
    assert desk.upload(handled, "demo_grid_worker", None).json()[0]["kind"] == "verify"
    # A filing whose capture fields are nonsense stores nothing.
    bad = api.post(
        "/api/v1/events",
        data={"source": "grid_worker", "category": world.handler_category, "lat": str(lat),
              "lng": str(lng), "origin": "camera"},
        files=[("photos", ("a.jpg", jpeg("red"), "image/jpeg")),
               ("photos", ("b.jpg", jpeg("blue"), "image/jpeg"))],
        headers=auth("demo_grid_worker"),
    )  # fmt: skip
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "origin"


def test_the_migration_labels_stored_photos_by_what_they_were(
    desk: Desk, db: Session, world: World
) -> None:
    relabel = importlib.import_module("fengqiao.migrations.versions.0019_proof").RELABEL
    event = desk.to_handled(desk.file())
    reporter, handler = world.ids["demo_grid_worker"], world.ids["demo_handler"]
    created = datetime.fromisoformat(event["created_at"])

    def row(kind: str, by: int, at: datetime) -> Attachment:
        attachment = Attachment(
            event_id=event["id"], kind=kind, sha256="c" * 64, mime="image/jpeg", bytes=1,
            width=1, height=1, uploaded_by=by, created_at=at,
        )  # fmt: skip
        db.add(attachment)
        return attachment

    filed = row("before", reporter, created)  # stored with the filing → 上报
    later_before = row("before", handler, created + timedelta(hours=1))  # stays 处置前
    evidence = row("evidence", handler, created + timedelta(hours=2))  # the handling → 处置后
    near = row("near", handler, created + timedelta(hours=2))  # stays 近景
    db.flush()
    # An upload while the event waited for verification (its trail row starts from handled).
    verifying_id = desk.photo(event, "demo_grid_worker", "evidence")
    for statement in relabel:
        db.execute(text(statement))
    db.expire_all()
    kinds = dict(
        db.execute(
            select(Attachment.id, Attachment.kind).where(Attachment.event_id == event["id"])
        ).all()
    )
    assert kinds[filed.id] == "report" and kinds[later_before.id] == "before"
    assert kinds[evidence.id] == "after" and kinds[near.id] == "near"
    assert kinds[verifying_id] == "verify"

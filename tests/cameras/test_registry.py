"""The registry as operators, grid workers and the video platform use it: lists and CSV by
status and area, one camera, an operator's edit, bulk statuses, and the nearest cameras."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.cameras.index import CAMERAS_COUNTER
from fengqiao.cameras.models import Camera
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import bump_counter
from tests.cameras.conftest import Grids, a_seeded_camera, code, stored
from tests.patrol.conftest import haversine


def cameras_under(db: Session, path: str, status: str | None = None) -> set[str]:
    query = (
        select(LayerFeature.code)
        .join(Camera, Camera.feature_id == LayerFeature.id)
        .join(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
        .where(OrgUnit.path.startswith(path))
    )
    if status is not None:
        query = query.where(Camera.status == status)
    return {str(c) for c in db.scalars(query)}


def test_the_list_filters_by_status_and_area_and_pages(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    everything = client.get("/api/v1/cameras", params={"size": 500}, headers=auth("demo_operator"))
    assert everything.status_code == 200
    body = everything.json()
    assert body["total"] == 200 and len(body["items"]) == 200
    item = body["items"][0]
    assert len(item["code"]) == 20 and item["type"] == "ip_camera" and item["protocol"] == "rtsp"
    assert item["status"] in ("online", "offline", "fault") and item["status_zh"]
    assert [i["code"] for i in body["items"]] == sorted(i["code"] for i in body["items"])
    offline = client.get(
        "/api/v1/cameras", params={"status": "offline", "size": 500}, headers=auth("demo_operator")
    ).json()
    town = grids.mine.path.rsplit("/", 3)[0] + "/"
    assert {i["code"] for i in offline["items"]} == cameras_under(db, town, "offline")
    assert 0 < offline["total"] < 200  # the seed leaves a few offline
    by_grid = client.get(
        "/api/v1/cameras", params={"grid": grids.other.code}, headers=auth("demo_operator")
    ).json()
    assert {i["code"] for i in by_grid["items"]} == cameras_under(db, grids.other.path)
    assert all(i["grid"]["code"] == grids.other.code for i in by_grid["items"])
    page2 = client.get(
        "/api/v1/cameras", params={"size": 7, "page": 2}, headers=auth("demo_operator")
    ).json()
    assert [i["code"] for i in page2["items"]] == [i["code"] for i in body["items"][7:14]]
    # A grid worker's list holds their own grid only; residents see none.
    mine = client.get("/api/v1/cameras", params={"size": 500}, headers=auth("demo_grid_worker"))
    assert {i["code"] for i in mine.json()["items"]} == cameras_under(db, grids.mine.path)
    assert client.get("/api/v1/cameras", headers=auth("demo_resident")).status_code == 403
    bad = client.get("/api/v1/cameras", params={"status": "broken"}, headers=auth("demo_operator"))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "status"
    not_grid = client.get("/api/v1/cameras", params={"grid": "nope"}, headers=auth("demo_operator"))
    assert not_grid.status_code == 422
    sample = body["items"][3]
    by_name = client.get(
        "/api/v1/cameras",
        params={"q": sample["name"][-6:], "size": 500},
        headers=auth("demo_operator"),
    ).json()
    assert sample["code"] in {i["code"] for i in by_name["items"]}
    assert all(sample["name"][-6:] in i["name"] for i in by_name["items"])
    by_code = client.get(
        "/api/v1/cameras", params={"q": sample["code"][-7:]}, headers=auth("demo_operator")
    ).json()
    assert [i["code"] for i in by_code["items"]] == [sample["code"]]
    wildcard = client.get("/api/v1/cameras", params={"q": "%"}, headers=auth("demo_operator"))
    assert wildcard.json()["total"] == 0  # a literal %, not a wildcard
    csv_body = client.get(
        "/api/v1/cameras/export.csv", params={"status": "offline"}, headers=auth("demo_operator")
    ).content.decode("utf-8-sig")
    assert len(csv_body.splitlines()) == offline["total"] + 1


def test_one_camera_by_id_in_the_callers_area(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    other = sorted(cameras_under(db, grids.other.path))[0]
    found = client.get(f"/api/v1/cameras/{other}", headers=auth("demo_operator"))
    assert found.status_code == 200 and found.json()["grid"]["code"] == grids.other.code
    assert (
        client.get(f"/api/v1/cameras/{other}", headers=auth("demo_grid_worker")).status_code == 403
    )
    missing = client.get(f"/api/v1/cameras/{code(999999)}", headers=auth("demo_operator"))
    assert missing.status_code == 404 and missing.json()["title_zh"]


def test_an_operator_edits_status_and_place(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    camera = a_seeded_camera(db)
    url = f"/api/v1/cameras/{camera.code}"
    started = datetime.now(UTC)
    fault = client.patch(url, json={"status": "故障"}, headers=auth("demo_operator"))
    assert fault.status_code == 200, fault.text
    assert fault.json()["status"] == "fault" and fault.json()["status_zh"] == "故障"
    assert datetime.fromisoformat(fault.json()["status_at"]) >= started
    online = client.patch(url, json={"status": "online"}, headers=auth("demo_operator")).json()
    assert datetime.fromisoformat(online["last_seen_at"]) >= started
    lat, lng = grids.inside(grids.other)
    moved = client.patch(
        url, json={"lat": lat, "lng": lng, "install_place": "桥头"}, headers=auth("demo_operator")
    ).json()
    assert moved["grid"]["code"] == grids.other.code and moved["install_place"] == "桥头"
    near = client.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "limit": 1},
        headers=auth("demo_operator"),
    ).json()
    assert near[0]["code"] == camera.code and near[0]["distance_m"] == 0.0  # index rebuilt
    before = stored(db, camera.code)
    assert before is not None
    name, props = before[0].name, before[0].props
    for body, status, field in [
        ({"stream_url": "ftp://x/y"}, 422, "stream_url"),
        ({"status": "broken"}, 422, "status"),
        ({"lat": 30.0}, 422, "lat,lng"),
        ({"lat": 31.9, "lng": 121.2}, 422, "lat,lng"),
        ({"colour": "red"}, 422, "colour"),
    ]:
        refused = client.patch(url, json=body, headers=auth("demo_operator"))
        assert refused.status_code == status, body
        assert refused.json()["errors"][0]["field"] == field
    other = db.scalar(
        select(LayerFeature).where(LayerFeature.kind == "camera", LayerFeature.id != camera.id)
    )
    assert other is not None
    taken = client.patch(
        url, json={"stream_url": (other.props or {})["stream_url"]}, headers=auth("demo_operator")
    )
    assert taken.status_code == 409 and other.code in taken.json()["detail"]
    after = stored(db, camera.code)
    assert after is not None and (after[0].name, after[0].props) == (name, props)
    assert (
        client.patch(url, json={"status": "online"}, headers=auth("demo_handler")).status_code
        == 403
    )


def test_the_video_platform_pushes_statuses_in_bulk(
    client: TestClient, auth: Any, db: Session
) -> None:
    cameras = list(
        db.scalars(
            select(LayerFeature)
            .where(LayerFeature.kind == "camera")
            .order_by(LayerFeature.id)
            .limit(3)
        )
    )
    now = datetime.now(UTC)
    statuses = {c.code: s for c, s in zip(cameras, ("offline", "fault", "online"), strict=True)}
    earlier = (now - timedelta(hours=1)).isoformat()
    push = {
        "cameras": [
            {"code": cameras[0].code, "status": "offline", "at": now.isoformat()},
            {"code": cameras[1].code, "status": "故障"},
            {"code": cameras[2].code, "status": "online"},
            {"code": cameras[0].code, "status": "online", "at": earlier},  # stale
            {"code": code(999998), "status": "online"},
            {"code": cameras[1].code, "status": "asleep"},
            {
                "code": cameras[2].code,
                "status": "online",
                "at": (now + timedelta(days=1)).isoformat(),
            },
        ]
    }
    response = client.post("/api/v1/cameras/status", json=push, headers=auth("demo_device"))
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["received"] == 7 and report["stale"] == 1
    assert report["changed"] + report["unchanged"] == 3
    assert [(r["row"], r["field"]) for r in report["refused"]] == [
        (5, "code"),
        (6, "status"),
        (7, "at"),
    ]
    for camera in cameras:
        row = stored(db, str(camera.code))
        assert row is not None and row[1].status == statuses[str(camera.code)]
    seen = stored(db, str(cameras[2].code))
    assert seen is not None and seen[1].last_seen_at is not None
    assert seen[1].last_seen_at >= now - timedelta(seconds=5)
    # A time without a zone, or no time at all, refuses that entry alone: the others apply.
    later = (now + timedelta(seconds=1)).isoformat()
    mixed = client.post(
        "/api/v1/cameras/status",
        json={
            "cameras": [
                {"code": cameras[0].code, "status": "fault", "at": later},
                {"code": cameras[1].code, "status": "online", "at": "2026-01-01T08:00:00"},
                {"code": cameras[2].code, "status": "offline", "at": "yesterday"},
            ]
        },
        headers=auth("demo_device"),
    )
    assert mixed.status_code == 200, mixed.text
    refused = mixed.json()["refused"]
    assert [(r["row"], r["field"]) for r in refused] == [(2, "at"), (3, "at")]
    assert "time zone" in refused[0]["reason"] and "时区" in refused[0]["reason_zh"]
    assert "ISO 8601" in refused[1]["reason"] and refused[1]["reason_zh"]
    assert mixed.json()["changed"] == 1
    for camera, status in zip(cameras, ("fault", "fault", "online"), strict=True):
        row = stored(db, str(camera.code))
        assert row is not None and row[1].status == status
    assert (
        client.post("/api/v1/cameras/status", json=push, headers=auth("demo_resident")).status_code
        == 403
    )


def test_nearest_within_a_radius_with_status(
    client: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    town = grids.mine.path.rsplit("/", 3)[0] + "/"
    rows = db.execute(
        select(LayerFeature.code, LayerFeature.lat, LayerFeature.lng, Camera.status)
        .join(Camera, Camera.feature_id == LayerFeature.id)
        .join(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
        .where(OrgUnit.path.startswith(town))
    ).all()
    truth = sorted((haversine(lat, lng, r.lat, r.lng), r.code, r.status) for r in rows)
    for radius in (300, 1_000, 5_000):
        near = client.get(
            "/api/v1/layers/cameras/nearest",
            params={"lat": lat, "lng": lng, "limit": 50, "radius_m": radius},
            headers=auth("demo_operator"),
        )
        assert near.status_code == 200
        got = near.json()
        want = [t for t in truth if t[0] <= radius][:50]
        assert [g["code"] for g in got] == [w[1] for w in want]
        assert [g["status"] for g in got] == [w[2] for w in want]
        assert all(g["distance_m"] <= radius for g in got)
    default = client.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "limit": 50},
        headers=auth("demo_operator"),
    ).json()
    assert [d["code"] for d in default] == [t[1] for t in truth if t[0] <= 1_000][:50]
    assert {"status", "status_zh", "last_seen_at", "install_place", "protocol"} <= set(default[0])
    too_far = client.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "radius_m": 5_001},
        headers=auth("demo_operator"),
    )
    assert too_far.status_code == 422 and too_far.json()["errors"][0]["field"] == "radius_m"
    # A grid worker's nearest cameras are their own grid's.
    worker = client.get(
        "/api/v1/layers/cameras/nearest",
        params={"lat": lat, "lng": lng, "limit": 50, "radius_m": 5_000},
        headers=auth("demo_grid_worker"),
    ).json()
    assert worker and {w["code"] for w in worker} <= cameras_under(db, grids.mine.path)


@pytest.fixture
def watching(bound: Any, seeded: Any) -> Iterator[TestClient]:
    """An instance that checks the registry's counter on every search."""
    settings = seeded.settings.model_copy(update={"camera_index_check_seconds": 0.0})
    with TestClient(create_app(settings, database=bound)) as test_client:
        yield test_client


def test_a_change_by_another_instance_reaches_the_index(
    watching: TestClient, auth: Any, db: Session, grids: Grids
) -> None:
    lat, lng = grids.inside(grids.mine)
    params = {"lat": lat, "lng": lng, "limit": 1, "radius_m": 50}
    assert (
        watching.get(
            "/api/v1/layers/cameras/nearest", params=params, headers=auth("demo_operator")
        ).json()
        == []
    )
    # Another instance (here: a plain session) adds a camera and bumps the counter.
    db.execute(
        insert(LayerFeature).values(
            kind="camera", code=code(950001), name="另一实例新增", lat=lat, lng=lng,
            grid_id=grids.mine.id, props={"stream_url": "rtsp://h/other"},
        )
    )  # fmt: skip
    feature_id = db.scalar(select(LayerFeature.id).where(LayerFeature.code == code(950001)))
    db.execute(
        insert(Camera).values(feature_id=feature_id, status="online", updated_at=datetime.now(UTC))
    )
    bump_counter(db=db, name=CAMERAS_COUNTER)
    db.commit()
    found = watching.get(
        "/api/v1/layers/cameras/nearest", params=params, headers=auth("demo_operator")
    ).json()
    assert [f["code"] for f in found] == [code(950001)]
    assert db.scalar(select(func.count()).select_from(Camera)) == 201


def test_the_camera_layer_carries_status(client: TestClient, auth: Any, db: Session) -> None:
    layer = client.get("/api/v1/layers/camera", headers=auth("demo_district_operator")).json()
    statuses = {fid: status for fid, status in db.execute(select(Camera.feature_id, Camera.status))}
    assert len(layer["features"]) == 200
    for feature in layer["features"]:
        props = feature["properties"]["props"]
        assert props["status"] == statuses[feature["id"]]
        assert props["stream_url"].startswith("rtsp://") and "last_seen_at" in props


def test_the_nearest_cameras_are_read_by_primary_key(db: Session) -> None:
    """The rows the index found are read by primary key, not through a scan of every camera."""
    from sqlalchemy import text

    from fengqiao.cameras.service import rows_by_id

    ids = list(db.scalars(select(LayerFeature.id).where(LayerFeature.kind == "camera").limit(10)))
    query = rows_by_id(ids).compile(
        dialect=db.get_bind().dialect, compile_kwargs={"literal_binds": True}
    )
    if db.get_bind().dialect.name == "sqlite":
        plan = " | ".join(str(r[-1]) for r in db.execute(text(f"EXPLAIN QUERY PLAN {query}")))
        assert "SEARCH layer_feature USING INTEGER PRIMARY KEY" in plan, plan
    else:
        db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " | ".join(str(r[0]) for r in db.execute(text(f"EXPLAIN {query}")))
        assert "pk_layer_feature" in plan, plan
    assert "layer_feature_kind" not in plan


def test_every_seeded_camera_has_a_status(db: Session) -> None:
    features = set(db.scalars(select(LayerFeature.id).where(LayerFeature.kind == "camera")))
    rows = db.execute(select(Camera.feature_id, Camera.status, Camera.last_seen_at)).all()
    assert {r.feature_id for r in rows} == features and len(rows) == 200
    statuses = [r.status for r in rows]
    assert set(statuses) <= {"online", "offline", "fault"}
    assert 0.85 < statuses.count("online") / len(statuses) < 1  # most online, a few not
    assert all(r.last_seen_at is not None for r in rows)

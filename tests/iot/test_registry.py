"""The device registry API: register (key once, hash only), list, edit (the map point follows),
rotate the key, retire; who may; bad input refused with problem+json."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.security import hash_api_key
from fengqiao.geo.models import LayerFeature
from fengqiao.iot.models import Device

from .conftest import Auth, point_in_grid, send

DEVICES = "/api/v1/iot/devices"


def _register(api: TestClient, auth: Auth, db: Session, **overrides: Any) -> Any:
    _grid, lng, lat = point_in_grid(db)
    body = {
        "code": "WQ-TEST-1", "name": "测试河道水质点", "device_type": "water_quality",
        "lng": lng, "lat": lat, "address": "测试河 1 号桥", "category": "0901",
        "reporter": "demo_device",
    } | overrides  # fmt: skip
    return api.post(DEVICES, json=body, headers=auth("demo_operator"))


def _layer_feature(api: TestClient, auth: Auth, code: str) -> dict[str, Any] | None:
    features = api.get("/api/v1/layers/iot_device", headers=auth("demo_district_operator")).json()[
        "features"
    ]
    return next((f for f in features if f["properties"]["code"] == code), None)


def test_register_returns_the_key_once_and_stores_only_its_hash(
    api: TestClient, auth: Auth, db: Session
) -> None:
    response = _register(api, auth, db)
    assert response.status_code == 201, response.text
    body = response.json()
    key = body["key"]
    assert key.startswith("fqd_") and body["key_prefix"] in key
    assert body["topic"] == "fengqiao/devices/WQ-TEST-1/alarm"
    grid, _, _ = point_in_grid(db)
    assert body["grid"]["id"] == grid.id and body["reporter"] == "demo_device"
    stored = db.scalar(select(Device).where(Device.code == "WQ-TEST-1"))
    assert stored is not None and stored.key_hash == hash_api_key(key)
    assert key not in (stored.key_hash, stored.key_prefix)
    again = api.get(f"{DEVICES}/{body['id']}", headers=auth("demo_operator")).json()
    assert "key" not in again
    # It is on the one-map at once, as the registry says.
    feature = _layer_feature(api, auth, "WQ-TEST-1")
    assert feature is not None
    assert feature["properties"]["props"]["device_type"] == "water_quality"
    assert feature["geometry"]["coordinates"] == [body["lng"], body["lat"]]
    # And the key works at the webhook.
    assert send(api, key, {"readings": {"cod": 5}}).status_code == 202


def test_edit_moves_the_map_point_and_rotate_and_retire(
    api: TestClient, auth: Auth, db: Session
) -> None:
    created = _register(api, auth, db).json()
    device_id, old_key = created["id"], created["key"]
    _grid, lng, lat = point_in_grid(db, "demo_grid_leader")
    moved = api.patch(
        f"{DEVICES}/{device_id}",
        json={"lng": lng + 0.0001, "lat": lat, "name": "改名后的水质点", "category": None},
        headers=auth("demo_operator"),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["name"] == "改名后的水质点" and moved.json()["category_code"] is None
    feature = _layer_feature(api, auth, "WQ-TEST-1")
    assert feature is not None and feature["properties"]["name"] == "改名后的水质点"
    assert feature["geometry"]["coordinates"][0] == pytest.approx(lng + 0.0001, abs=1e-7)
    rotated = api.post(f"{DEVICES}/{device_id}/rotate-key", headers=auth("demo_operator"))
    new_key = rotated.json()["key"]
    assert new_key != old_key
    refused = send(api, old_key, {"readings": {"cod": 5}})
    assert refused.status_code == 401
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert send(api, new_key, {"readings": {"cod": 5}}).status_code == 202
    retired = api.post(f"{DEVICES}/{device_id}/retire", headers=auth("demo_operator"))
    assert retired.json()["status"] == "retired"
    gone = send(api, new_key, {"readings": {"cod": 99}})
    assert gone.status_code == 403 and gone.json()["type"].endswith("iot-retired-device")
    feature = _layer_feature(api, auth, "WQ-TEST-1")
    assert feature is not None and feature["properties"]["props"]["status"] == "retired"


def test_a_retired_device_is_reactivated_under_its_code_with_a_new_key(
    api: TestClient, auth: Auth, db: Session
) -> None:
    created = _register(api, auth, db).json()
    device_id, old_key = created["id"], created["key"]
    # Only a retired device comes back; leaders may not do it.
    active = api.post(f"{DEVICES}/{device_id}/reactivate", headers=auth("demo_operator"))
    assert active.status_code == 409 and active.json()["type"].endswith("device-active")
    assert active.json()["detail_zh"]
    api.post(f"{DEVICES}/{device_id}/retire", headers=auth("demo_operator"))
    assert _register(api, auth, db).status_code == 409  # the code is still taken
    leader = api.post(f"{DEVICES}/{device_id}/reactivate", headers=auth("demo_leader"))
    assert leader.status_code == 403
    back = api.post(f"{DEVICES}/{device_id}/reactivate", headers=auth("demo_operator"))
    assert back.status_code == 200, back.text
    body = back.json()
    assert body["status"] == "active" and body["code"] == "WQ-TEST-1"
    assert body["topic"] == "fengqiao/devices/WQ-TEST-1/alarm"
    new_key = body["key"]
    assert new_key != old_key and body["key_prefix"] in new_key
    # The key it had before retirement stays dead; the new one files alarms again.
    assert send(api, old_key, {"readings": {"cod": 5}}).status_code == 401
    assert send(api, new_key, {"readings": {"cod": 5}}).status_code == 202
    feature = _layer_feature(api, auth, "WQ-TEST-1")
    assert feature is not None and feature["properties"]["props"]["status"] == "online"
    assert api.get(f"{DEVICES}/{device_id}", headers=auth("demo_operator")).json()["status"] == (
        "active"
    )


def test_list_pages_and_filters(api: TestClient, auth: Auth, db: Session) -> None:
    everything = api.get(DEVICES, headers=auth("demo_district_operator")).json()
    assert everything["total"] == db.query(Device).count() == 6
    page = api.get(f"{DEVICES}?size=4&page=2", headers=auth("demo_operator")).json()
    assert len(page["items"]) == 2 and page["total"] == 6
    smoke = api.get(f"{DEVICES}?device_type=smoke_detector", headers=auth("demo_operator"))
    assert {d["device_type"] for d in smoke.json()["items"]} == {"smoke_detector"}
    assert api.get(f"{DEVICES}?q=IOT-WQ-00002", headers=auth("demo_operator")).json()["total"] == 1
    assert api.get(f"{DEVICES}?status=broken", headers=auth("demo_operator")).status_code == 422


def test_who_may_manage_devices(api: TestClient, auth: Auth, db: Session) -> None:
    assert api.get(DEVICES, headers=auth("demo_grid_worker")).status_code == 403
    assert api.get(DEVICES, headers=auth("demo_resident")).status_code == 403
    assert api.get(DEVICES).status_code == 401
    assert _register(api, auth, db).status_code == 201
    device_id = db.scalar(select(Device.id).where(Device.code == "WQ-TEST-1"))
    # Leaders read; only administrators and operators change.
    assert api.get(f"{DEVICES}/{device_id}", headers=auth("demo_leader")).status_code == 200
    assert api.post(f"{DEVICES}/{device_id}/retire", headers=auth("demo_leader")).status_code == 403
    assert api.get(f"{DEVICES}/999999", headers=auth("demo_operator")).status_code == 404


def test_bad_registrations_are_refused_with_the_field(
    api: TestClient, auth: Auth, db: Session
) -> None:
    cases: list[tuple[dict[str, Any], str | None]] = [
        ({"code": "a/b"}, "code"),  # would be two topic levels
        ({"code": "x+"}, "code"),
        ({"device_type": "Water Quality"}, "device_type"),
        ({"lat": 95.0}, "lat"),
        ({"lng": 121.9, "lat": 31.2}, None),  # Shanghai: outside the district
        ({"category": "9999"}, "category"),
        ({"reporter": "demo_operator"}, "reporter"),  # not a device account
        ({"unit_id": 999999}, "unit_id"),
    ]
    for overrides, field in cases:
        response = _register(api, auth, db, **overrides)
        assert response.status_code == 422, (overrides, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        body = response.json()
        assert body["detail_zh"]
        if field is not None:
            assert field in {e["field"].split(".")[-1] for e in body["errors"]}, body
    assert _register(api, auth, db).status_code == 201
    taken = _register(api, auth, db)
    assert taken.status_code == 409 and taken.json()["type"].endswith("device-exists")
    layer = db.scalars(select(LayerFeature).where(LayerFeature.code == "WQ-TEST-1")).all()
    assert len(layer) == 1

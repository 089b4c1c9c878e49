"""A town imported while an instance's rules snapshot is fresh: its staff file in it at once,
and the event carries its district (the snapshot is read again on a town it does not know)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit

WEST, SOUTH = 120.36, 29.96
SQUARE = [[WEST, SOUTH], [WEST + 0.03, SOUTH], [WEST + 0.03, SOUTH + 0.03],
          [WEST, SOUTH + 0.03], [WEST, SOUTH]]  # fmt: skip


def _feature(code: str, name: str, **props: Any) -> dict[str, Any]:
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name, **props},
        "geometry": {"type": "Polygon", "coordinates": [SQUARE]},
    }


def test_staff_of_a_town_imported_a_moment_ago_file_in_it(
    client: TestClient, auth: Callable[[str], dict[str, str]], db: Session
) -> None:
    # The process reads its rules snapshot (checked again only every few seconds).
    assert client.get("/api/v1/events", headers=auth("admin")).status_code == 200
    collection = {
        "type": "FeatureCollection",
        "features": [
            _feature("330603009", "安昌街道", area_type="rural"),
            _feature("330603009001", "安昌村", village_type="village"),
            _feature("330603009001001", "安昌村第1网格", households=120, population=360),
        ],
    }
    imported = client.post("/api/v1/org/import", json=collection, headers=auth("admin"))
    assert imported.status_code == 200, imported.text
    made = client.post(
        "/api/v1/users",
        headers=auth("admin"),
        json={"username": "op_anchang", "name": "安昌坐席", "password": "Anchang#2026-pass",
              "roles": ["operator"], "home_org_code": "330603009"},
    )  # fmt: skip
    assert made.status_code == 201, made.text
    filed = client.post(
        "/api/v1/events",
        headers=auth("op_anchang"),
        json={"source": "hotline", "category": "0101", "lat": SOUTH + 0.015,
              "lng": WEST + 0.015, "description": "安昌村邻里纠纷"},
    )  # fmt: skip
    assert filed.status_code == 201, filed.text
    db.expire_all()
    event = db.get(Event, filed.json()["id"])
    district = db.scalar(select(OrgUnit.id).where(OrgUnit.code == "330603"))
    assert event is not None and event.district_id == district

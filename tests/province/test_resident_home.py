"""A resident's home at first SMS sign-in, in a database of several districts: the district of
the point the phone reported, else the root until the first report moves it to that report's
district; never "the first district" of the database."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from tests.province.world import World
from tests.residents.conftest import code_in_outbox

KQ, YC = "330603", "330602"


def _sign_in(api: TestClient, db: Session, phone: str, **where: Any) -> Any:
    sent = api.post("/api/v1/auth/sms-code", json={"phone": phone})
    assert sent.status_code == 202, sent.text
    return api.post(
        "/api/v1/auth/token", data={"phone": phone, "code": code_in_outbox(db, phone), **where}
    )


def _home(db: Session, phone: str) -> int:
    db.expire_all()
    home = db.scalar(select(User.home_org_id).where(User.phone == phone))
    assert home is not None
    return home


def test_the_reported_location_picks_the_district(
    api: TestClient, db: Session, world: World
) -> None:
    for phone, district in (("13957510001", YC), ("13957510002", KQ)):
        lat, lng = world.points[district]
        got = _sign_in(api, db, phone, lat=lat, lng=lng)
        assert got.status_code == 200, got.text
        assert _home(db, phone) == world.districts[district]
    # A point in no grid, or none at all: the root (the province), not the first district.
    assert _sign_in(api, db, "13957510003", lat=10.0, lng=10.0).status_code == 200
    assert _home(db, "13957510003") == world.province
    refused = _sign_in(api, db, "13957510004", lat=91, lng=120)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "lat"
    assert db.scalar(select(User.id).where(User.phone == "13957510004")) is None


def test_the_first_report_moves_a_root_home_to_its_district(
    api: TestClient, db: Session, world: World
) -> None:
    phone = "13957510005"
    got = _sign_in(api, db, phone)
    assert got.status_code == 200, got.text
    assert _home(db, phone) == world.province
    headers = {"Authorization": f"Bearer {got.json()['access_token']}"}
    lat, lng = world.points[YC]
    body = {"source": "resident", "category": world.category, "description": "路边有人占道经营",
            "lat": lat, "lng": lng, "address": "府山街道某路"}  # fmt: skip
    filed = api.post("/api/v1/events", json=body, headers=headers)
    assert filed.status_code == 201, filed.text
    assert _home(db, phone) == world.districts[YC]
    # A later report elsewhere does not move it again.
    lat, lng = world.points[KQ]
    again = api.post("/api/v1/events", json=body | {"lat": lat, "lng": lng}, headers=headers)
    assert again.status_code == 201, again.text
    assert _home(db, phone) == world.districts[YC]
    # The resident still reads both own reports, whatever the home.
    mine = api.get(f"/api/v1/events/{again.json()['id']}", headers=headers)
    assert mine.status_code == 200, mine.text

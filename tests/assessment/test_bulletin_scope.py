"""A town's bulletin for town staff, the district's for the district (issue 15: the daily
bulletin showed every town's overdue events, sensitive classes included, to town staff)."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.assessment import bulletin
from fengqiao.outbox.models import Outbox
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)

DAY = date(2026, 12, 1)


def _html(api: TestClient, auth: Any, user: str) -> str:
    response = api.get(f"/api/v1/bulletins/{DAY.isoformat()}.html", headers=auth(user))
    assert response.status_code == 200, response.text
    return response.text


def test_town_staff_get_their_towns_bulletin(
    api: TestClient, auth: Any, towns: Towns, clock: Any
) -> None:
    clock.advance(timedelta(hours=12))  # both events are past their deadline the same day
    home = towns.events[towns.home_town]["code"]
    other = towns.events[towns.other_town]["code"]
    district = _html(api, auth, "demo_district_leader")
    assert home in district and other in district
    for user in ("demo_operator", "demo_leader"):
        page = _html(api, auth, user)
        assert home in page and other not in page, user
        assert "柯桥街道每日通报" in page
    theirs = _html(api, auth, "ky_leader")
    assert other in theirs and home not in theirs


def test_each_subscriber_is_sent_their_own_areas_figures(
    api: TestClient, auth: Any, towns: Towns, db: Session, clock: Any, settings: Any
) -> None:
    clock.advance(timedelta(hours=12))
    for user in ("demo_leader", "ky_leader", "demo_district_leader"):
        response = api.put(
            "/api/v1/bulletins/subscription", json={"channels": ["app"]}, headers=auth(user)
        )
        assert response.status_code == 200, response.text
    bulletin.publish(db, day=DAY, now=clock.now(), settings=settings)
    db.flush()
    sent = {
        row.user_id: row.payload
        for row in db.scalars(select(Outbox).where(Outbox.template == "bulletin"))
    }
    ids = towns.user_ids
    assert sent[ids["demo_district_leader"]]["red"] == 2
    assert sent[ids["demo_leader"]]["red"] == 1 and sent[ids["ky_leader"]]["red"] == 1
    assert sent[ids["demo_leader"]]["district"] == "柯桥街道"

"""The event center's batch step and the export of selected rows keep to the caller's scope: a
town operator who names another town's event gets "not found" for it, and it stays as it was,
while their own events in the same batch go through."""

# ruff: noqa: F811  (the fixtures are imported from tests.scope_world by name)
from __future__ import annotations

import csv
import io
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.events.models import Event, EventLog
from tests.scope_world import Towns, api, clock, towns  # noqa: F401  (fixtures)


def _file(api: TestClient, auth: Any, towns: Towns, town: int) -> dict[str, Any]:
    user = "demo_operator" if town == towns.home_town else "ky_operator"
    lat, lng = towns.home_point if town == towns.home_town else towns.other_point
    body = {
        "source": "hotline", "category": towns.category, "description": "路边有人占道经营",
        "lat": lat, "lng": lng, "address": "某路",
    }  # fmt: skip
    response = api.post("/api/v1/events", json=body, headers=auth(user))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_batch_naming_another_towns_event_changes_only_the_callers_own(
    api: TestClient, auth: Any, towns: Towns, db: Session
) -> None:
    own = _file(api, auth, towns, towns.home_town)
    foreign = _file(api, auth, towns, towns.other_town)
    trail = db.scalar(select(func.count()).where(EventLog.event_id == foreign["id"]))
    response = api.post(
        "/api/v1/events/batch",
        json={"action": "accept", "items": [
            {"id": foreign["id"], "version": foreign["version"]},
            {"id": own["id"], "version": own["version"]},
        ]},
        headers=auth("demo_operator"),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    results = {r["id"]: r for r in response.json()["results"]}
    assert results[own["id"]]["ok"] and results[own["id"]]["event"]["status"] == "accepted"
    refused = results[foreign["id"]]
    assert not refused["ok"] and refused["status"] == 404 and refused["event"] is None
    assert foreign["code"] not in str(refused["problem"])  # nothing told about it
    db.expire_all()
    assert db.get(Event, foreign["id"]).status == "reported"  # type: ignore[union-attr]
    assert db.scalar(select(func.count()).where(EventLog.event_id == foreign["id"])) == trail


def test_exporting_selected_rows_leaves_out_another_towns(
    api: TestClient, auth: Any, towns: Towns
) -> None:
    own = _file(api, auth, towns, towns.home_town)
    foreign = _file(api, auth, towns, towns.other_town)
    response = api.get(
        "/api/v1/events/export.csv",
        params={"ids": f"{own['id']},{foreign['id']}"},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert [row[0] for row in rows[1:]] == [own["code"]]

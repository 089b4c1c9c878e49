"""The warnings API: who sees which warning, acknowledging once, filters, CSV, bad input."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from fengqiao.db import Database
from fengqiao.warnings.service import run_detectors

from .conftest import NOW, RULES, AddEvent, Place, hours_before, moved, routed_unit

Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def two_warnings(db: Session, bound: Database, add_event: AddEvent, place: Place) -> dict[str, int]:
    """A stability cluster (routed to governance offices) and a repeat of 占道经营 (routed to
    demo_handler's law-enforcement squadron) in demo_grid_worker's village."""
    for hours, code in [(100, "0103"), (40, "0301"), (3, "0302")]:
        add_event(code, hours_before(hours))
    for days, metres in [(20, 0), (9, 10), (1, 20)]:
        lat, lng = moved(place.lat, place.lng, metres, 45)
        add_event("0701", NOW - timedelta(days=days), lat=lat, lng=lng)
    counts = run_detectors(database=bound, now=NOW, rules=RULES)
    assert (counts["cluster"], counts["repeat"]) == (1, 1)
    return {"unit": routed_unit(db, place, "0701")}


def _list(client: TestClient, headers: dict[str, str], **params: str) -> dict[str, Any]:
    response = client.get("/api/v1/warnings", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_who_sees_which_warning(
    client: TestClient, auth: Auth, two_warnings: dict[str, int]
) -> None:
    town = _list(client, auth("demo_operator"))
    assert town["total"] == 2 and {w["kind"] for w in town["items"]} == {"cluster", "repeat"}
    assert _list(client, auth("demo_district_leader"))["total"] == 2
    # The handler's unit is concerned by the repeat only.
    handler = _list(client, auth("demo_handler"))
    assert [w["kind"] for w in handler["items"]] == ["repeat"]
    assert handler["items"][0]["unit"]["id"] == two_warnings["unit"]
    # Residents and grid workers are not told.
    assert _list(client, auth("demo_resident"))["total"] == 0
    assert _list(client, auth("demo_grid_worker"))["total"] == 0
    cluster = next(w for w in town["items"] if w["kind"] == "cluster")
    assert (
        client.get(f"/api/v1/warnings/{cluster['id']}", headers=auth("demo_handler")).status_code
        == 404
    )
    one = client.get(f"/api/v1/warnings/{cluster['id']}", headers=auth("demo_leader")).json()
    assert (
        one["kind_name"] == "涉稳聚集"
        and one["status_name"] == "待签收"
        and len(one["event_ids"]) == 3
    )


def test_acknowledging(client: TestClient, auth: Auth, two_warnings: dict[str, int]) -> None:
    items = _list(client, auth("demo_operator"))["items"]
    cluster = next(w for w in items if w["kind"] == "cluster")
    repeat = next(w for w in items if w["kind"] == "repeat")
    # Someone outside the warning's unit and area cannot acknowledge (it does not exist for them).
    for user in ("demo_handler", "demo_resident", "demo_grid_worker"):
        response = client.post(
            f"/api/v1/warnings/{cluster['id']}/ack", json={"note": "x"}, headers=auth(user)
        )
        assert response.status_code == 404, user
        assert response.headers["content-type"].startswith("application/problem+json")
    response = client.post(
        f"/api/v1/warnings/{cluster['id']}/ack",
        json={"note": "已通知综治办、信访办入村化解"},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "acknowledged" and body["acknowledged_by"]["code"] == "demo_operator"
    assert body["note"] == "已通知综治办、信访办入村化解" and body["acknowledged_at"]
    again = client.post(
        f"/api/v1/warnings/{cluster['id']}/ack", json={}, headers=auth("demo_leader")
    )
    assert again.status_code == 409
    problem = again.json()
    assert problem["type"].endswith("/already-acknowledged") and "已签收" in problem["title_zh"]
    # The unit concerned acknowledges its own warning.
    mine = client.post(
        f"/api/v1/warnings/{repeat['id']}/ack", json={}, headers=auth("demo_handler")
    )
    assert mine.status_code == 200 and mine.json()["note"] is None


def test_filters_and_csv(client: TestClient, auth: Auth, two_warnings: dict[str, int]) -> None:
    headers = auth("demo_district_operator")
    repeat = _list(client, headers, kind="repeat")["items"]
    assert [w["kind"] for w in repeat] == ["repeat"] and repeat[0]["category_code"] == "0701"
    assert _list(client, headers, category="0701")["total"] == 1
    assert _list(client, headers, unit=str(two_warnings["unit"]))["total"] == 1
    client.post(f"/api/v1/warnings/{repeat[0]['id']}/ack", json={}, headers=headers)
    assert [w["kind"] for w in _list(client, headers, status="acknowledged")["items"]] == ["repeat"]
    assert [w["kind"] for w in _list(client, headers, status="open")["items"]] == ["cluster"]
    day = NOW.date().isoformat()
    assert _list(client, headers, date_from=day, date_to=day)["total"] == 2
    later = (NOW.date() + timedelta(days=1)).isoformat()
    assert _list(client, headers, date_from=later)["total"] == 0
    paged = _list(client, headers, page="2", size="1")
    assert paged["total"] == 2 and len(paged["items"]) == 1
    response = client.get("/api/v1/warnings/export", params={"kind": "cluster"}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["编号", "类型", "地点"] and len(rows) == 2 and rows[1][1] == "涉稳聚集"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "earthquake"}, "kind"),
        ({"status": "done"}, "status"),
        ({"category": "9x"}, "category"),
        ({"date_from": "2026-12-05", "date_to": "2026-12-01"}, "date_to"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"size": "0"}, "size"),
    ],
)
def test_bad_filters_say_which_field(
    client: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    response = client.get("/api/v1/warnings", params=params, headers=auth("demo_operator"))
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    (error,) = response.json()["errors"]
    assert error["field"] == field and error["reason"] and error["reason_zh"]


def test_a_note_too_long(client: TestClient, auth: Auth, two_warnings: dict[str, int]) -> None:
    first = _list(client, auth("demo_operator"))["items"][0]
    response = client.post(
        f"/api/v1/warnings/{first['id']}/ack",
        json={"note": "长" * 2001},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "note" and error["reason_zh"] == "内容过长"

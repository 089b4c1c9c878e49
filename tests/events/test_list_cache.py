"""The event list from the read cache: kept per person (actions and masked phones differ between
callers of one area), sent gzip-compressed, and fresh after every step."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
from fastapi.testclient import TestClient

from .conftest import Desk


def test_callers_of_one_area_get_their_own_list(api: TestClient, auth: Any, desk: Desk) -> None:
    lat, lng = desk.world.grid_point
    filed = desk.file(
        "demo_operator", source="hotline", contact_phone="13812345678", lat=lat, lng=lng
    )
    for first, second in (("demo_operator", "demo_leader"), ("demo_leader", "demo_operator")):
        answers = {}
        for user in (first, second):
            response = api.get("/api/v1/events", headers=auth(user))
            assert response.status_code == 200
            (row,) = [e for e in response.json()["items"] if e["id"] == filed["id"]]
            answers[user] = row
        assert answers["demo_operator"]["contact_phone"] == "13812345678"
        assert "accept" in answers["demo_operator"]["actions"]
        assert answers["demo_leader"]["contact_phone"] != "13812345678"
        assert "accept" not in answers["demo_leader"]["actions"]
    # The command room's panel is the area's: both share one answer.
    tags = {
        api.get("/api/v1/command/situation", headers=auth(user)).headers["etag"]
        for user in ("demo_operator", "demo_leader")
    }
    assert len(tags) == 1


def test_the_list_is_sent_compressed(api: TestClient, auth: Any, desk: Desk) -> None:
    for _ in range(4):
        desk.file()
    operator = auth("demo_operator")
    plain = api.get("/api/v1/events", headers=operator | {"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers
    with api.stream(
        "GET", "/api/v1/events", headers=operator | {"Accept-Encoding": "gzip"}
    ) as packed:
        assert packed.headers["content-encoding"] == "gzip"
        raw = b"".join(packed.iter_raw())
    assert len(raw) < len(plain.content) / 2
    assert orjson.loads(gzip.decompress(raw)) == plain.json()


def test_a_step_shows_in_the_next_page(api: TestClient, auth: Any, desk: Desk) -> None:
    operator = auth("demo_operator")
    filed = desk.file()
    listed = api.get("/api/v1/events", headers=operator).json()["items"]
    assert [e["status"] for e in listed if e["id"] == filed["id"]] == ["reported"]
    dispatched = desk.act(desk.act(filed, "demo_operator", "accept"), "demo_operator", "dispatch")
    listed = api.get("/api/v1/events", headers=operator).json()["items"]
    assert [e["status"] for e in listed if e["id"] == filed["id"]] == ["dispatched"]
    inbox = api.get("/api/v1/events", params={"task": "inbox"}, headers=auth("demo_handler"))
    assert [e["id"] for e in inbox.json()["items"]] == [dispatched["id"]]

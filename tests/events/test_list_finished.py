"""A finished event has no light (it asks for no more work), in the list, on its page and in
the export; the single-district list names the district and no city; the sources' words are
Chinese."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.events.sources import SOURCE_ZH

from .conftest import Desk


def test_a_closed_event_has_no_light(desk: Desk, api: TestClient, auth: Any, clock: Any) -> None:
    event = desk.file()
    clock.advance(timedelta(days=2, hours=1))  # less than 24 h left: yellow
    event = desk.to_handled(event)
    assert event["light"] == "yellow"
    closed = desk.verify_ok(event)
    assert closed["status"] == "closed" and closed["light"] is None
    operator = auth("demo_operator")
    assert desk.get(closed)["light"] is None
    listed = api.get("/api/v1/events", params={"status": "closed"}, headers=operator).json()
    assert [(e["id"], e["light"]) for e in listed["items"]] == [(event["id"], None)]
    # Later, past the deadline, still none (no red for an event closed in time or not).
    clock.advance(timedelta(days=3))
    assert desk.get(closed)["light"] is None
    # A light filter asks for running events: the closed one is in none of them.
    for light in ("green", "yellow", "red"):
        items = api.get("/api/v1/events", params={"light": light}, headers=operator).json()
        assert event["id"] not in {e["id"] for e in items["items"]}, light
    export = api.get("/api/v1/events/export.csv", params={"ids": event["id"]}, headers=operator)
    rows = list(csv.reader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert rows[1][rows[0].index("红黄绿灯")] == "" and rows[1][rows[0].index("状态")] == "已结案"


def test_single_district_rows_name_the_district_and_no_city(
    desk: Desk, api: TestClient, auth: Any
) -> None:
    event = desk.file()
    center = auth("demo_district_operator")
    item = api.get("/api/v1/events", headers=center).json()["items"][0]
    assert item["id"] == event["id"]
    assert item["city"] is None and item["district"]["name"] == "柯桥区"
    district = item["district"]["id"]
    filtered = api.get("/api/v1/events", params={"district": district}, headers=center)
    assert [e["id"] for e in filtered.json()["items"]] == [event["id"]]
    # A town's operator may not name the district above their town.
    refused = api.get(
        "/api/v1/events", params={"district": district}, headers=auth("demo_operator")
    )
    assert refused.status_code == 403


def test_source_words_are_chinese() -> None:
    assert SOURCE_ZH["open311"] == "开放接口"
    for code, words in SOURCE_ZH.items():
        assert not any("a" <= ch.lower() <= "z" for ch in words), (code, words)

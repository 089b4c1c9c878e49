"""The event list: filters, scope, cursor pagination, tasks, CSV export."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from .conftest import Desk, World


def _list(api: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_filters_and_cursor_pages(
    desk: Desk, world: World, api: TestClient, auth: Any, clock: Any
) -> None:
    made = []
    for i in range(5):
        made.append(
            desk.file(category=world.handler_category if i % 2 == 0 else world.other_category)
        )
        clock.advance(timedelta(minutes=5))
    operator = auth("demo_operator")
    everything = _list(api, operator, count="true")
    assert [e["id"] for e in everything["items"]] == [e["id"] for e in reversed(made)]
    assert everything["total"] == 5
    mine = _list(api, operator, category=world.handler_category)
    assert {e["id"] for e in mine["items"]} == {made[0]["id"], made[2]["id"], made[4]["id"]}
    major = world.handler_category[:2]
    assert len(_list(api, operator, category=major)["items"]) >= 3
    first = _list(api, operator, size=2)
    second = _list(api, operator, size=2, cursor=first["next_cursor"])
    third = _list(api, operator, size=2, cursor=second["next_cursor"])
    pages = [e["id"] for p in (first, second, third) for e in p["items"]]
    assert pages == [e["id"] for e in reversed(made)] and third["next_cursor"] is None
    oldest_first = _list(api, operator, sort="created_at", size=1)
    assert oldest_first["items"][0]["id"] == made[0]["id"]
    assert _list(api, operator, q=made[3]["code"])["items"][0]["id"] == made[3]["id"]
    assert _list(api, operator, status="closed")["items"] == []
    assert len(_list(api, operator, source="grid_worker", level="2,3,1,4")["items"]) == 5


def test_lights_and_overdue(desk: Desk, api: TestClient, auth: Any, clock: Any) -> None:
    event = desk.file()
    operator = auth("demo_operator")
    assert [e["id"] for e in _list(api, operator, light="green")["items"]] == [event["id"]]
    clock.advance(timedelta(days=2, hours=1))  # Thursday 10:00: less than 24 h left
    assert [e["light"] for e in _list(api, operator, light="yellow")["items"]] == ["yellow"]
    assert _list(api, operator, overdue="true")["items"] == []
    clock.advance(timedelta(days=1))  # Friday 10:00: past the deadline
    overdue = _list(api, operator, overdue="true")["items"]
    assert [e["id"] for e in overdue] == [event["id"]] and overdue[0]["light"] == "red"


def test_scope_residents_and_grid_workers(
    desk: Desk, world: World, api: TestClient, auth: Any
) -> None:
    lat, lng = world.other_grid_point
    elsewhere = desk.file("demo_operator", source="hotline", lat=lat, lng=lng)
    own = desk.file()
    resident = desk.file("demo_resident", source="resident")
    worker_sees = {e["id"] for e in _list(api, auth("demo_grid_worker"))["items"]}
    assert own["id"] in worker_sees and elsewhere["id"] not in worker_sees
    assert {e["id"] for e in _list(api, auth("demo_resident"))["items"]} == {resident["id"]}
    assert len(_list(api, auth("demo_district_operator"))["items"]) == 3


def test_tasks_inbox_and_verify(desk: Desk, api: TestClient, auth: Any) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    inbox = _list(api, auth("demo_handler"), task="inbox")["items"]
    assert [e["id"] for e in inbox] == [event["id"]]
    assert _list(api, auth("demo_grid_worker"), task="verify")["items"] == []
    handled = desk.act(desk.act(event, "demo_handler", "sign"), "demo_handler", "feedback",
                       result="已处理", attachment_ids=[desk.photo(event, "demo_handler")], version=event["version"] + 1)  # fmt: skip
    mine = _list(api, auth("demo_grid_worker"), task="verify")["items"]
    assert [e["id"] for e in mine] == [handled["id"]] and "verify" in mine[0]["actions"]
    assert _list(api, auth("demo_grid_leader"), task="verify")["items"] == []


def test_bad_filters_name_the_field(api: TestClient, auth: Any) -> None:
    operator = auth("demo_operator")
    for params, field in (
        ({"status": "lost"}, "status"),
        ({"light": "blue"}, "light"),
        ({"town": "abc"}, "town"),
        ({"cursor": "!!!"}, "cursor"),
        ({"created_from": "2026-12-01T00:00"}, "created_from"),
        ({"sort": "title"}, "sort"),
    ):
        response = api.get("/api/v1/events", params=params, headers=operator)
        assert response.status_code == 422, (params, response.text)
        assert response.json()["errors"][0]["field"] == field


def test_csv_export_uses_the_same_filters(
    desk: Desk, world: World, api: TestClient, auth: Any
) -> None:
    first = desk.file()
    desk.file(category=world.other_category)
    response = api.get(
        "/api/v1/events/export.csv",
        params={"category": world.handler_category},
        headers=auth("demo_operator"),
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    text = response.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:3] == ["事件编号", "标题", "事件描述"]
    assert [r[0] for r in rows[1:]] == [first["code"]]
    column = {name: index for index, name in enumerate(rows[0])}
    assert rows[1][column["状态"]] == "已上报" and rows[1][column["红黄绿灯"]] == "绿灯"
    platform = rows[0].index("平台")
    assert rows[1][platform] in {"综治工作", "市场监管", "综合执法", "便民服务"}

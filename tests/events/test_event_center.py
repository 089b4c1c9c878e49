"""The event center for people who process hundreds a day (issue 17, item 4): every sortable
column in both directions with cursor pages, the urgency order of the inbox and the worker's
tasks, the 督办 mark, the batch step with its results, and a CSV in words."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient

from fengqiao.events import queries
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.events.workflow import OPEN, STATUS_ZH
from fengqiao.org.models import PLATFORMS, UNIT_TYPE_ZH

from .conftest import Desk, World


def _list(api: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = api.get("/api/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _all_pages(api: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    items, cursor, pages = [], None, 0
    while True:
        page = _list(api, headers, size=2, **params, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        pages += 1
        cursor = page["next_cursor"]
        assert pages < 50, "the cursor never ends"
        if cursor is None:
            return items


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _expected(items: list[dict[str, Any]], sort: str, now: datetime) -> list[int]:
    """The order the API promises for `sort`, computed here from the rows themselves."""
    key = sort.lstrip("-")
    descending = sort.startswith("-")

    def urgency(e: dict[str, Any]) -> int:
        running = e["status"] in OPEN and e["status"] != "suspended"
        due, yellow = _at(e["due_at"]), _at(e["yellow_at"])
        assert due is not None
        if running and due <= now:
            return 0
        if running and yellow is not None and yellow <= now:
            return 1
        if running:
            return 2
        return 3 if e["status"] == "suspended" else 4

    def parts(e: dict[str, Any]) -> tuple[bool, tuple[Any, ...]]:
        """(in the tail of empty values, the key before the id)."""
        if key in ("created_at", "updated_at"):
            return False, (_at(e[key]),)
        if key == "category":
            return False, (e["category"],)
        if key == "town":
            return False, (e["town"]["id"],)
        if key == "unit":
            unit = e["owner_unit"]
            return unit is None, ((unit or {}).get("id", 0),)
        if key == "due_at":
            return e["due_at"] is None, (_at(e["due_at"]),)
        if key == "status":
            return False, (queries.STATUS_ORDER.index(e["status"]),)
        assert key == "urgency"
        if e["due_at"] is None:
            return True, ()
        rank = urgency(e)
        if descending and rank <= 2:
            rank = 2 - rank  # green, yellow, red: still before suspended and finished ones
        # Sorted in reverse below when descending: the rank is mirrored to keep its place.
        return False, ((-rank if descending else rank), _at(e["due_at"]))

    head = [e for e in items if not parts(e)[0]]
    tail = [e for e in items if parts(e)[0]]
    head.sort(key=lambda e: (*parts(e)[1], e["id"]), reverse=descending)
    tail.sort(key=lambda e: e["id"], reverse=descending)
    return [e["id"] for e in head + tail]


def _varied(desk: Desk, world: World, clock: Any) -> list[dict[str, Any]]:
    """Seven events filed over three days: two classes, several states, two owner units, lights
    of every colour by the end."""
    made = []
    for index in range(7):
        category = world.handler_category if index % 2 == 0 else world.other_category
        made.append(desk.file(category=category, description=f"第{index}件：占道经营"))
        clock.advance(timedelta(hours=10))
    desk.act(made[1], "demo_operator", "accept")
    desk.act(desk.act(made[2], "demo_operator", "accept"), "demo_operator", "dispatch")
    desk.act(desk.act(made[3], "demo_operator", "accept"), "demo_operator", "dispatch")
    desk.act(made[4], "demo_operator", "reject", note="重复上报")
    clock.advance(timedelta(hours=30))  # the first ones are late by now, the last still green
    return made


def test_every_sort_in_both_directions_pages_through_every_event_once(
    desk: Desk, world: World, api: TestClient, auth: Any, clock: Any
) -> None:
    made = _varied(desk, world, clock)
    operator = auth("demo_operator")
    everything = _list(api, operator, size=100)["items"]
    assert {e["id"] for e in everything} == {e["id"] for e in made}
    lights = {e["light"] for e in everything if e["status"] in OPEN}
    assert {"red", "green"} <= lights, lights  # the urgency order has more than one rank
    assert len({e["owner_unit"]["id"] for e in everything if e["owner_unit"]}) == 2
    assert len(queries.SORTS) == 16
    for sort in queries.SORTS:
        paged = _all_pages(api, operator, sort=sort)
        ids = [e["id"] for e in paged]
        assert len(ids) == len(set(ids)) == len(made), (sort, ids)
        assert ids == _expected(everything, sort, clock.now()), sort
    # The descending order is not just the ascending one reversed where values are empty: the
    # events without an owner unit stay last both ways.
    units = [e["owner_unit"] for e in _list(api, operator, sort="-unit", size=100)["items"]]
    assert units[0] is not None and units[-1] is None


def test_the_status_order_is_the_loops_and_a_status_filter_keeps_it(
    desk: Desk, world: World, api: TestClient, auth: Any, clock: Any
) -> None:
    _varied(desk, world, clock)
    operator = auth("demo_operator")
    statuses = [e["status"] for e in _list(api, operator, sort="status", size=100)["items"]]
    assert statuses == sorted(statuses, key=queries.STATUS_ORDER.index)
    assert statuses[0] == "reported" and statuses[-1] == "rejected"
    some = _list(api, operator, sort="-status", status="dispatched,reported", size=100)["items"]
    assert some[0]["status"] == "dispatched"
    assert {e["status"] for e in some} == {"dispatched", "reported"}


def test_a_bad_sort_or_a_foreign_cursor_is_refused_in_both_languages(
    desk: Desk, world: World, api: TestClient, auth: Any, clock: Any
) -> None:
    for _ in range(3):
        desk.file()
        clock.advance(timedelta(minutes=5))
    operator = auth("demo_operator")
    for params, field in (
        ({"sort": "title"}, "sort"),
        ({"sort": "-id; drop table event"}, "sort"),
        ({"sort": "urgency", "cursor": _list(api, operator, size=1)["next_cursor"]}, "cursor"),
        ({"cursor": "bm90IGEgY3Vyc29y"}, "cursor"),
    ):
        response = api.get("/api/v1/events", params=params, headers=operator)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        error = response.json()["errors"][0]
        assert error["field"] == field and re.search(r"[\u4e00-\u9fff]", error["reason_zh"])
    export = api.get("/api/v1/events/export.csv", params={"sort": "nonsense"}, headers=operator)
    assert export.status_code == 422 and export.json()["errors"][0]["field"] == "sort"


def test_the_inbox_is_sorted_by_urgency_unless_asked_otherwise(
    desk: Desk, world: World, api: TestClient, auth: Any, clock: Any
) -> None:
    """Red first, then yellow, then the nearest deadline: an urgent event filed later is due
    earlier than an ordinary one filed before it."""
    made = {}
    for name, urgent in (("first", False), ("urgent", True), ("last", False)):
        event = desk.file("demo_operator", source="hotline", urgent=urgent)
        event = desk.act(desk.act(event, "demo_operator", "accept"), "demo_operator", "dispatch")
        made[name] = event
        clock.advance(timedelta(hours=1))
    due = {name: datetime.fromisoformat(e["due_at"]) for name, e in made.items()}
    assert due["urgent"] < due["first"] < due["last"], due
    clock.advance(due["urgent"] - clock.now() + timedelta(minutes=1))  # the urgent one is late
    handler = auth("demo_handler")
    inbox = _list(api, handler, task="inbox")["items"]
    assert [e["id"] for e in inbox] == [made[n]["id"] for n in ("urgent", "first", "last")]
    assert inbox[0]["light"] == "red"
    newest = _list(api, handler, task="inbox", sort="-created_at")["items"]
    assert [e["id"] for e in newest] == [made[n]["id"] for n in ("last", "urgent", "first")]
    # The cursor of a default-ordered inbox continues in urgency order.
    first = _list(api, handler, task="inbox", size=1)
    rest = _list(api, handler, task="inbox", size=5, cursor=first["next_cursor"])["items"]
    assert [e["id"] for e in rest] == [made[n]["id"] for n in ("first", "last")]


def test_a_workers_tasks_are_sorted_by_urgency(
    desk: Desk, api: TestClient, auth: Any, clock: Any
) -> None:
    older = desk.to_handled(desk.file())
    clock.advance(timedelta(hours=2))
    newer = desk.to_handled(desk.file())
    tasks = _list(api, auth("demo_grid_worker"), task="verify")["items"]
    assert [e["id"] for e in tasks] == [older["id"], newer["id"]]  # nearest deadline first


def test_an_open_supervision_order_marks_the_event_in_the_list(
    desk: Desk, api: TestClient, auth: Any
) -> None:
    dispatched = [
        desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
        for _ in range(2)
    ]
    operator = auth("demo_operator")
    marks = {e["id"]: e["supervised"] for e in _list(api, operator)["items"]}
    assert marks == {e["id"]: False for e in dispatched}
    order = api.post(
        f"/api/v1/events/{dispatched[0]['id']}/supervision-orders",
        json={"kind": "leader", "requirement": "请今日内处置完毕"},
        headers=operator,
    )
    assert order.status_code == 201, order.text
    marks = {e["id"]: e["supervised"] for e in _list(api, operator)["items"]}
    assert marks == {dispatched[0]["id"]: True, dispatched[1]["id"]: False}
    inbox = _list(api, auth("demo_handler"), task="inbox")["items"]
    assert {e["id"]: e["supervised"] for e in inbox}[dispatched[0]["id"]] is True
    assert desk.get(dispatched[0])["supervised"] is True
    reply = api.post(
        f"/api/v1/supervision-orders/{order.json()['id']}/reply",
        json={"reply": "已安排人员处置"},
        headers=auth("demo_handler"),
    )
    assert reply.status_code == 200, reply.text
    assert not any(e["supervised"] for e in _list(api, operator)["items"])


def test_the_csv_carries_description_address_result_and_words_for_every_code(
    desk: Desk, api: TestClient, auth: Any
) -> None:
    handled = desk.to_handled(desk.file(description="桥头有人占道经营，影响通行"))
    other = desk.file()
    operator = auth("demo_operator")
    response = api.get(
        "/api/v1/events/export.csv", params={"ids": str(handled["id"])}, headers=operator
    )
    assert response.status_code == 200, response.text
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    head, values = rows[0], rows[1:]
    assert len(values) == 1  # only the selected row
    row = dict(zip(head, values[0], strict=True))
    assert row["事件编号"] == handled["code"] and row["事件描述"] == "桥头有人占道经营，影响通行"
    assert row["地址"] == "柯桥街道某路" and row["处置结果"] == "已清理占道摊位"
    assert row["状态"] == STATUS_ZH["handled"] and row["来源"] == SOURCE_ZH["grid_worker"]
    assert row["等级"].endswith("级") and row["紧急"] in {"是", "否"}
    assert row["责任单位"] and row["镇街"] and row["网格"]
    for name in ("上报时间", "处置时限", "反馈时间"):
        assert re.fullmatch(r"20\d\d-\d\d-\d\d \d\d:\d\d", row[name]), (name, row[name])
    # No code of any vocabulary reaches the file: states, sources, platforms, unit types.
    codes = set(STATUS_ZH) | set(SOURCE_ZH) | set(PLATFORMS) | set(UNIT_TYPE_ZH)
    cells = {cell for line in values for cell in line}
    assert not cells & codes, cells & codes
    assert not [cell for cell in cells if re.fullmatch(r"[a-z_]{3,}", cell)]
    everything = api.get("/api/v1/events/export.csv", params={"sort": "status"}, headers=operator)
    lines = list(csv.reader(io.StringIO(everything.content.decode("utf-8-sig"))))[1:]
    assert [line[0] for line in lines] == [other["code"], handled["code"]]  # 已上报 before 已反馈


def test_a_batch_accepts_what_it_may_and_says_why_not_for_the_rest(
    desk: Desk, api: TestClient, auth: Any
) -> None:
    fresh = [desk.file() for _ in range(3)]
    accepted = desk.act(desk.file(), "demo_operator", "accept")
    stale = fresh[2]
    desk.act(stale, "demo_operator", "accept")  # someone else took it meanwhile
    operator = auth("demo_operator")
    items = [
        {"id": fresh[0]["id"], "version": fresh[0]["version"]},
        {"id": accepted["id"], "version": accepted["version"]},  # already accepted
        {"id": fresh[1]["id"], "version": fresh[1]["version"]},
        {"id": stale["id"], "version": stale["version"]},  # a version the caller read before
        {"id": 987654321, "version": 1},  # no such event
    ]
    response = api.post(
        "/api/v1/events/batch", json={"action": "accept", "items": items}, headers=operator
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["done"], body["refused"]) == (2, 3)
    results = {r["id"]: r for r in body["results"]}
    assert [r["id"] for r in body["results"]] == [i["id"] for i in items]  # in the order given
    for ok in (fresh[0], fresh[1]):
        assert results[ok["id"]]["ok"] and results[ok["id"]]["event"]["status"] == "accepted"
    assert results[accepted["id"]]["status"] == 409
    assert "不能执行" in results[accepted["id"]]["problem"]["detail_zh"]
    assert results[stale["id"]]["status"] == 409
    assert results[987654321]["status"] == 404 and results[987654321]["event"] is None
    # 交办 sends each to its own proposed unit.
    moved = api.post(
        "/api/v1/events/batch",
        json={"action": "dispatch", "items": [
            {"id": e["id"], "version": results[e["id"]]["event"]["version"]}
            for e in (fresh[0], fresh[1])
        ]},
        headers=operator,
    ).json()  # fmt: skip
    assert moved["done"] == 2
    for result in moved["results"]:
        event = result["event"]
        assert event["status"] == "dispatched"
        assert event["owner_unit"]["id"] == event["proposed_unit"]["id"]


def test_a_batch_is_bounded_and_refused_whole_when_malformed(
    desk: Desk, api: TestClient, auth: Any
) -> None:
    event = desk.file()
    operator = auth("demo_operator")
    item = {"id": event["id"], "version": event["version"]}
    settings = api.app.state.settings  # type: ignore[attr-defined]
    api.app.state.settings = settings.model_copy(update={"event_batch_max": 1})  # type: ignore[attr-defined]
    try:
        two = desk.file()
        response = api.post(
            "/api/v1/events/batch",
            json={"action": "accept", "items": [item, {"id": two["id"], "version": 1}]},
            headers=operator,
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["field"] == "items"
    finally:
        api.app.state.settings = settings  # type: ignore[attr-defined]
    for body in (
        {"action": "close", "items": [item]},
        {"action": "accept", "items": []},
        {"action": "accept", "items": [item, item]},
    ):
        response = api.post("/api/v1/events/batch", json=body, headers=operator)
        assert response.status_code == 422, (body, response.text)
    assert desk.get(event)["status"] == "reported"  # nothing stored
    handler = api.post(
        "/api/v1/events/batch", json={"action": "accept", "items": [item]},
        headers=auth("demo_handler"),
    ).json()  # fmt: skip
    assert handler["refused"] == 1 and handler["results"][0]["status"] in (403, 404)
    assert desk.get(event)["status"] == "reported"

"""Bounded input (issue 15): a body over its route class's limit is refused before it is read, a
long list or dict gets a short 422, and no answer lists more than a few field errors.

The findings reproduced: a resident's report with `answers: {"a": [1]*500000}` (1 MB) came back
as a 121 MB 422 after 5 s and +1.1 GB of server memory; a 50 MB body killed the server;
`attachment_ids` on transitions behaved the same. The live tests run a real uvicorn process and
read its peak memory from /proc.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from bench.bench_bounds import Server, app_env, report_body, resident_headers, send_body
from fengqiao.app import create_app
from fengqiao.clock import FixedClock
from fengqiao.errors import MAX_ERRORS
from tests.conftest import TEST_KEY
from tests.events.conftest import START, Desk, World, make_world

MIB = 1024 * 1024
JSON_LIMIT = 256 * 1024


@pytest.fixture
def api(bound: Any, seeded: Any, tmp_path: Path) -> Iterator[TestClient]:
    settings = seeded.settings.model_copy(update={"data_dir": tmp_path, "rules_check_seconds": 0})
    with TestClient(create_app(settings, database=bound, clock=FixedClock(START))) as client:
        yield client


@pytest.fixture
def world(db: Session) -> World:
    return make_world(db)


@pytest.fixture
def desk(api: TestClient, auth: Any, world: World) -> Desk:
    return Desk(api, auth, world)


def _report(world: World, **fields: Any) -> dict[str, Any]:
    lat, lng = world.grid_point
    return {"source": "resident", "category": world.handler_category, "lat": lat, "lng": lng,
            "description": "路灯坏了", **fields}  # fmt: skip


def _post(api: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    return api.post(
        path, content=orjson.dumps(body), headers={**headers, "Content-Type": "application/json"}
    )


def _assert_problem(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:2000]
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["title_zh"] and body["detail_zh"]
    return body


# --- the findings ------------------------------------------------------------------------------


def test_a_1mb_list_in_a_residents_answers_is_refused_with_a_short_413(
    api: TestClient, auth: Any, world: World
) -> None:
    body = _report(world, answers={"a": [1] * 500_000})
    assert len(orjson.dumps(body)) > 1_000_000  # the finding's 1 MB
    response = _post(api, "/api/v1/events", body, auth("demo_resident"))
    problem = _assert_problem(response, 413)
    assert problem["limit"] == JSON_LIMIT
    assert "262144" in problem["detail"] and "262144" in problem["detail_zh"]
    assert len(response.content) < 2048


def test_a_long_list_under_the_size_limit_gets_a_few_errors_not_one_per_element(
    api: TestClient, auth: Any, world: World
) -> None:
    body = _report(world, answers={"a": [1] * 100_000})  # 200 KB: passes the size limit
    assert len(orjson.dumps(body)) < JSON_LIMIT
    response = _post(api, "/api/v1/events", body, auth("demo_resident"))
    problem = _assert_problem(response, 422)
    assert 1 <= len(problem["errors"]) <= MAX_ERRORS
    assert problem["errors"][0]["field"].startswith("answers")
    assert len(response.content) < 4096


def test_attachment_ids_on_a_transition_are_bounded(desk: Desk, api: TestClient, auth: Any) -> None:
    event = desk.file()
    path = f"/api/v1/events/{event['id']}/transitions"
    step = {"action": "accept", "version": event["version"]}
    huge = _post(api, path, {**step, "attachment_ids": [1] * 500_000}, auth("demo_operator"))
    assert _assert_problem(huge, 413)["limit"] == JSON_LIMIT
    long = _post(api, path, {**step, "attachment_ids": ["x"] * 50_000}, auth("demo_operator"))
    problem = _assert_problem(long, 422)
    assert [e["field"] for e in problem["errors"]] == ["attachment_ids"]
    assert len(long.content) < 4096
    assert desk.get(event)["status"] == event["status"]  # nothing happened to the event


def test_at_most_ten_field_errors_are_listed_and_the_rest_counted(
    api: TestClient, auth: Any
) -> None:
    items = [{"code": f"item{i}", "ok": "perhaps"} for i in range(30)]
    walk = {"module": "river", "subject": "一段河道", "lat": 30.1, "lng": 120.5, "items": items}
    response = _post(api, "/api/v1/intake/checklists", walk, auth("demo_grid_worker"))
    problem = _assert_problem(response, 422)
    assert len(problem["errors"]) == MAX_ERRORS
    assert problem["more"] == 20
    assert "20" in problem["detail"] and "20" in problem["detail_zh"]


def test_a_huge_dict_key_is_not_echoed_back(api: TestClient, auth: Any, world: World) -> None:
    key = "问" * 60_000  # 180 KB of key: under the size limit
    response = _post(
        api, "/api/v1/events", _report(world, answers={key: "是"}), auth("demo_resident")
    )
    problem = _assert_problem(response, 422)
    assert len(response.content) < 8192
    assert all(len(e["field"]) <= 120 for e in problem["errors"])


# --- the limit of each route class ---------------------------------------------------------------


def test_each_route_class_has_its_own_limit(api: TestClient, auth: Any, world: World) -> None:
    admin = auth("admin")
    over_json = b"{" + b" " * JSON_LIMIT + b"}"
    refused = api.post("/api/v1/units", content=over_json,
                       headers={**admin, "Content-Type": "application/json"})  # fmt: skip
    assert _assert_problem(refused, 413)["limit"] == JSON_LIMIT

    form = {"username": "admin", "password": "x" * (64 * 1024)}
    assert _assert_problem(api.post("/api/v1/auth/token", data=form), 413)["limit"] == 64 * 1024

    # A photo upload may be far larger than a JSON body (a 2 MB photo is ordinary) ...
    photo = ("photos", ("big.jpg", b"\xff\xd8" + b"\0" * (2 * MIB), "image/jpeg"))
    fields = {k: str(v) for k, v in _report(world).items()}
    upload = api.post("/api/v1/events", data=fields, files=[photo], headers=auth("demo_resident"))
    assert upload.status_code != 413 and upload.status_code < 500, upload.text
    # ... but a multipart form elsewhere has the small limit of forms.
    other = api.post("/api/v1/units", data={"name": "x"}, files=[photo], headers=admin)
    assert _assert_problem(other, 413)["limit"] == 64 * 1024

    # Imports carry whole files: 1 MB of org tree reaches the importer (and its own checks).
    tree = {"type": "FeatureCollection", "features": [], "pad": "x" * MIB}
    imported = _post(api, "/api/v1/org/import", tree, admin)
    assert imported.status_code != 413 and imported.status_code < 500, imported.text[:500]

    alarm = api.post("/api/v1/iot/alarms", content=b"{" + b" " * (4 * 4096) + b"}",
                     headers={"X-Device-Key": "nope", "Content-Type": "application/json"})  # fmt: skip
    assert _assert_problem(alarm, 413)["limit"] == 4 * 4096


def test_a_streamed_body_is_cut_off_at_the_limit(
    seeded: Any, tmp_path: Path, bound: Any, auth: Any
) -> None:
    """Chunked, with no Content-Length: the app pulls no more than the limit from the wire."""
    app = create_app(seeded.settings.model_copy(update={"data_dir": tmp_path}), database=bound)
    token = auth("demo_resident")["Authorization"]
    chunk = b"[" + b"1," * (32 * 1024 - 1)  # 64 KiB of a JSON list, never closed
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": chunk, "more_body": pulled < 800}  # 50 MB

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/events", "raw_path": b"",
             "query_string": b"", "headers": [(b"content-type", b"application/json"),
                                              (b"transfer-encoding", b"chunked"),
                                              (b"authorization", token.encode())],
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000), "root_path": ""}  # fmt: skip

    asyncio.run(app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 413
    assert pulled * len(chunk) <= JSON_LIMIT + len(chunk)
    assert b"262144" in b"".join(m.get("body", b"") for m in sent)


def test_a_content_length_that_is_not_a_number_is_a_400(api: TestClient) -> None:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/iot/alarms", "raw_path": b"",
             "query_string": b"", "headers": [(b"content-length", b"12abc")],
             "http_version": "1.1", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 5000), "root_path": ""}  # fmt: skip
    asyncio.run(api.app(scope, receive, send))  # type: ignore[arg-type]
    assert sent[0]["status"] == 400
    body = orjson.loads(b"".join(m.get("body", b"") for m in sent))
    assert body["title_zh"] == "请求格式有误"


# --- against a real server: time and memory ------------------------------------------------------


@pytest.fixture(scope="module")
def live(seeded: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One uvicorn process per backend for the module's live tests."""
    tmp = tmp_path_factory.mktemp("live")
    server = Server.start(
        "fengqiao.app:create_app", app_env(seeded.url, tmp, TEST_KEY), factory=True
    )
    yield server
    server.stop()


@pytest.mark.parametrize(
    ("name", "body", "chunked"),
    [
        ("1 MB list", report_body(500_000), False),
        ("1 MB list, chunked", report_body(500_000), True),
        ("50 MB", b"[" + b"1," * (25 * MIB) + b"1]", False),
        ("50 MB, chunked", b"[" + b"1," * (25 * MIB) + b"1]", True),
    ],
)
def test_big_bodies_are_refused_within_a_second_and_50_mb(
    live: Server, seeded: Any, name: str, body: bytes, chunked: bool
) -> None:
    headers = resident_headers(seeded.url, TEST_KEY)
    send_body(live, "/api/v1/events", report_body(10), headers)  # warm up
    refusal = send_body(live, "/api/v1/events", body, headers, chunked=chunked)
    assert refusal.status == 413, refusal.body[:500]
    assert orjson.loads(refusal.body)["limit"] == JSON_LIMIT
    assert refusal.seconds < 1.0, name
    assert refusal.growth_mib < 50, name
    assert live.process.poll() is None  # still serving

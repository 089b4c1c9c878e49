"""How the live stream is served: a bare route ahead of FastAPI's router (no dependency state
held for the stream's life), under every middleware but GZip, which lets the event streams
straight through."""

from __future__ import annotations

import asyncio
import gzip
import json
from typing import Any

from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Match, Route
from starlette.types import Message, Receive, Scope, Send

from fengqiao.app import STREAM_PATHS, StreamsBypassGZip
from tests.command.test_live import LIVE, _wait_for_the_stream_to_end
from tests.web.test_headers import assert_strict


def test_the_live_stream_is_a_bare_route_with_every_header_and_no_gzip(
    api: TestClient, auth: Any
) -> None:
    scope = {"type": "http", "method": "GET", "path": LIVE, "root_path": ""}
    first = next(r for r in api.app.router.routes if r.matches(scope)[0] is Match.FULL)  # type: ignore[attr-defined]
    assert isinstance(first, Route) and not isinstance(first, APIRoute), first
    headers = {**auth("demo_operator"), "Accept-Encoding": "gzip", "X-Request-ID": "live-0001"}
    with api.stream("GET", LIVE, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
        assert response.headers["cache-control"] == "no-cache"
        assert response.headers["x-request-id"] == "live-0001"
        assert_strict(response)  # the security headers and the one strict policy
        assert next(response.iter_lines()).rstrip("\r") == "retry: 3000"
    _wait_for_the_stream_to_end()
    # The API's description still has it, from the FastAPI route it shadows.
    assert "get" in api.get("/openapi.json").json()["paths"][LIVE]


def test_the_bare_route_refuses_as_the_api_does(api: TestClient, auth: Any) -> None:
    for headers in ({}, {"Authorization": "Bearer not-a-token"}):
        stream = api.get(LIVE, headers=headers)
        other = api.get("/api/v1/events", headers=headers)  # behind the API router's sign-in
        assert stream.status_code == other.status_code == 401
        assert stream.headers["content-type"] == other.headers["content-type"]
        assert stream.headers["content-type"].startswith("application/problem+json")
        assert stream.json()["detail"] == other.json()["detail"]
        assert_strict(stream)
    # Only GET, as every route of the API (Starlette would add HEAD to a bare GET route).
    for method in ("HEAD", "POST"):
        refused = api.request(method, LIVE, headers=auth("demo_operator"))
        assert refused.status_code == 405 and refused.headers["allow"] == "GET"
        assert refused.headers["content-type"].startswith("application/problem+json")


def _run(app: StreamsBypassGZip, path: str) -> tuple[list[Message], bool]:
    """Calls `app` for GET `path` accepting gzip: the messages sent, and whether the inner app
    was given the server's own `send` (nothing in between)."""
    sent: list[Message] = []
    given: list[Send] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def inner(scope: Scope, _receive: Receive, inner_send: Send) -> None:
        given.append(inner_send)
        body = json.dumps({"rows": ["行" * 8] * 400}).encode()
        await inner_send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await inner_send({"type": "http.response.body", "body": body})

    app.app = inner
    scope = {
        "type": "http",
        "method": "GET",
        "path": path,
        "headers": [(b"accept-encoding", b"gzip")],
    }
    asyncio.run(app(scope, receive, send))
    return sent, given == [send]


def test_gzip_lets_the_streams_straight_through_and_compresses_the_rest() -> None:
    app = StreamsBypassGZip(lambda *_: None, passthrough=STREAM_PATHS, minimum_size=2048)  # type: ignore[arg-type]
    assert LIVE in STREAM_PATHS and "/api/v1/me/notifications/stream" in STREAM_PATHS
    sent, straight = _run(app, LIVE)
    assert straight  # no GZip responder on the stream's sends
    assert dict(sent[0]["headers"]).get(b"content-encoding") is None
    sent, straight = _run(app, "/api/v1/events")
    assert not straight
    assert dict(sent[0]["headers"])[b"content-encoding"] == b"gzip"
    assert json.loads(gzip.decompress(sent[1]["body"]))["rows"][0] == "行" * 8

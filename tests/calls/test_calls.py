"""One-click video calls (issue 18, item 2): the command room rings a worker's phone over the
signalling socket, the call is answered, SDP and ICE pass between the two pages, hanging up ends
both and the call lands on its event's trail; every refusal is a problem+json in both languages."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketTestSession
from starlette.websockets import WebSocketDisconnect

from fengqiao.app import create_app
from fengqiao.calls import views
from fengqiao.calls.models import VideoCall
from fengqiao.clock import FixedClock
from fengqiao.config import IceServer
from fengqiao.errors import unauthorized
from tests.conftest import BoundDatabase, Seeded
from tests.events.conftest import Desk, World

Auth = Any


@contextmanager
def phone(api: TestClient, auth: Auth, user: str) -> Iterator[tuple[WebSocketTestSession, str]]:
    """A page of `user` connected to call signalling, with its connection id."""
    with api.websocket_connect("/api/v1/calls/ws", headers=auth(user)) as socket:
        hello = socket.receive_json()
        assert hello["type"] == "hello"
        yield socket, hello["conn"]


def ring(api: TestClient, auth: Auth, user: str, callee: int, conn: str, **body: Any) -> Any:
    return api.post(
        "/api/v1/calls", headers=auth(user), json={"callee_id": callee, "conn": conn} | body
    )


def act(api: TestClient, auth: Auth, user: str, call_id: int, what: str, **body: Any) -> Any:
    return api.post(f"/api/v1/calls/{call_id}/{what}", headers=auth(user), json=body or None)


def refused(response: Any, status: int, slug: str, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].endswith("/" + slug)
    assert words in problem["title_zh"] + problem["detail_zh"]
    assert problem["detail"] and problem["detail"] != problem["detail_zh"]


def test_a_call_rings_is_answered_passes_sdp_and_goes_on_the_event_trail(
    api: TestClient, auth: Auth, desk: Desk, world: World, clock: FixedClock, db: Session
) -> None:
    event = desk.file()
    worker = world.ids["demo_grid_worker"]
    with (
        phone(api, auth, "demo_grid_worker") as (handset, other_conn),
        phone(api, auth, "demo_grid_worker") as (handset_2, phone_conn),
        phone(api, auth, "demo_operator") as (desk_page, desk_conn),
    ):
        placed = ring(api, auth, "demo_operator", worker, desk_conn, event_id=event["id"])
        assert placed.status_code == 201, placed.text
        call = placed.json()
        assert call["state"] == "ringing" and call["callee"]["id"] == worker
        # Every page of the worker rings, with who calls and about which event.
        for page in (handset, handset_2):
            rung = page.receive_json()
            assert rung["type"] == "ring" and rung["call"]["id"] == call["id"]
            assert rung["call"]["caller"]["name"] == call["caller"]["name"]
            assert rung["event"]["code"] == event["code"]
        # Nothing passes before the call is answered.
        early = act(api, auth, "demo_operator", call["id"], "signal", conn=desk_conn,
                    kind="offer", sdp="v=0")  # fmt: skip
        refused(early, 409, "call-over", "通话已结束")
        answered = act(api, auth, "demo_grid_worker", call["id"], "accept", conn=phone_conn)
        assert answered.status_code == 200 and answered.json()["state"] == "active"
        assert desk_page.receive_json() == {"type": "accepted", "call_id": call["id"]}
        assert handset.receive_json()["outcome"] == "answered_elsewhere"
        # The worker's other page, which did not answer, takes no part.
        aside = act(api, auth, "demo_grid_worker", call["id"], "signal", conn=other_conn,
                    kind="answer", sdp="v=0")  # fmt: skip
        refused(aside, 409, "call-over", "通话已结束")
        sent = act(api, auth, "demo_operator", call["id"], "signal", conn=desk_conn,
                   kind="offer", sdp="v=0 offer")  # fmt: skip
        assert sent.status_code == 204, sent.text
        offer = handset_2.receive_json()
        assert (
            offer["type"] == "signal" and offer["kind"] == "offer" and offer["sdp"] == "v=0 offer"
        )
        candidate = {"candidate": "candidate:1 1 udp 1 127.0.0.1 5000 typ host", "sdpMid": "0",
                     "sdpMLineIndex": 0}  # fmt: skip
        act(api, auth, "demo_grid_worker", call["id"], "signal", conn=phone_conn,
            kind="candidate", candidate=candidate)  # fmt: skip
        got = desk_page.receive_json()
        assert (
            got["kind"] == "candidate" and got["candidate"]["candidate"] == candidate["candidate"]
        )
        clock.advance(timedelta(seconds=65))
        ended = act(api, auth, "demo_operator", call["id"], "hangup")
        assert ended.status_code == 200 and ended.json()["outcome"] == "completed"
        assert handset_2.receive_json() == {
            "type": "ended",
            "call_id": call["id"],
            "outcome": "completed",
        }
        again = act(api, auth, "demo_grid_worker", call["id"], "hangup")
        refused(again, 409, "call-over", "通话已结束")
    row = db.get(VideoCall, call["id"])
    assert row is not None and row.outcome == "completed" and row.event_id == event["id"]
    assert row.answered_at is not None and row.ended_at is not None
    trail = [r for r in desk.get(event)["trail"] if r["action"] == "video_call"]
    assert len(trail) == 1
    assert trail[0]["note"].endswith("：通话 1 分 5 秒")
    assert trail[0]["actor"]["name"] == call["caller"]["name"]


def test_out_of_scope_offline_and_not_a_caller_are_refused(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    # The district's leader works above the town operator's area.
    stranger = world.ids["demo_district_leader"]
    worker = world.ids["demo_grid_worker"]
    with phone(api, auth, "demo_operator") as (_, desk_conn):
        refused(ring(api, auth, "demo_operator", stranger, desk_conn), 403,
                "callee-out-of-scope", "不在您的管辖范围内")  # fmt: skip
        # The worker has no app open.
        refused(ring(api, auth, "demo_operator", worker, desk_conn), 409,
                "callee-offline", "对方不在线")  # fmt: skip
        refused(ring(api, auth, "demo_operator", 2**31 - 1, desk_conn), 404, "not-found", "")
    # A page that is not connected, or another user's connection, cannot place a call.
    with phone(api, auth, "demo_grid_worker") as (_, phone_conn):
        refused(ring(api, auth, "demo_operator", worker, phone_conn), 409,
                "caller-offline", "未连接通话服务")  # fmt: skip
        # A grid worker does not ring people.
        response = ring(api, auth, "demo_grid_worker", world.ids["demo_operator"], phone_conn)
        assert response.status_code == 403
    assert db.scalar(select(VideoCall.id).limit(1)) is None, "refused calls are not stored"


def test_busy_both_ways_declined_and_a_dropped_peer(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    worker = world.ids["demo_grid_worker"]
    with (
        phone(api, auth, "demo_operator") as (desk_page, desk_conn),
        phone(api, auth, "demo_district_operator") as (_, other_conn),
    ):
        with (
            phone(api, auth, "demo_grid_worker") as (handset, phone_conn),
            phone(api, auth, "demo_grid_leader"),
        ):
            call = ring(api, auth, "demo_operator", worker, desk_conn).json()
            handset.receive_json()
            refused(ring(api, auth, "demo_district_operator", worker, other_conn), 409,
                    "callee-busy", "对方正在通话中")  # fmt: skip
            leader = world.ids["demo_grid_leader"]
            refused(ring(api, auth, "demo_operator", leader, desk_conn), 409,
                    "caller-busy", "您正在通话中")  # fmt: skip
            declined = act(api, auth, "demo_grid_worker", call["id"], "decline")
            assert declined.json()["outcome"] == "declined"
            assert desk_page.receive_json()["outcome"] == "declined"
            # Free again: the next call rings and is answered, then the phone's page goes away.
            second = ring(api, auth, "demo_operator", worker, desk_conn).json()
            handset.receive_json()
            act(api, auth, "demo_grid_worker", second["id"], "accept", conn=phone_conn)
            assert desk_page.receive_json()["type"] == "accepted"
        assert desk_page.receive_json() == {
            "type": "ended",
            "call_id": second["id"],
            "outcome": "dropped",
        }
    # Both sides are told first; the row is written right after.
    expected = {call["id"]: "declined", second["id"]: "dropped"}
    deadline = time.monotonic() + 10  # a loaded machine (CI) may take more than a moment
    while True:
        outcomes = {r.id: r.outcome for r in db.execute(select(VideoCall.id, VideoCall.outcome))}
        if outcomes == expected or time.monotonic() > deadline:
            break
        time.sleep(0.02)
    assert outcomes == expected


def test_an_unanswered_call_ends_as_missed(
    bound: BoundDatabase, seeded: Seeded, clock: FixedClock, auth: Auth, world: World,
    db: Session,
) -> None:  # fmt: skip
    settings = seeded.settings.model_copy(update={"call_ring_seconds": 0.2})
    with (
        TestClient(create_app(settings, database=bound, clock=clock)) as api,
        phone(api, auth, "demo_operator") as (desk_page, desk_conn),
        phone(api, auth, "demo_grid_worker") as (handset, _),
    ):
        call = ring(api, auth, "demo_operator", world.ids["demo_grid_worker"], desk_conn)
        assert handset.receive_json()["type"] == "ring"
        assert desk_page.receive_json()["outcome"] == "missed"
        assert handset.receive_json()["outcome"] == "missed"
        # Both sides are told first; the row is written after, while the app still runs.
        deadline = time.monotonic() + 10
        while True:
            db.expire_all()
            row = db.get(VideoCall, call.json()["id"])
            if (row and row.outcome) or time.monotonic() > deadline:
                break
            time.sleep(0.05)
    assert row is not None and row.outcome == "missed"


def test_the_socket_needs_a_signed_in_page_of_this_site(api: TestClient, auth: Auth) -> None:
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        api.websocket_connect("/api/v1/calls/ws") as socket,
    ):
        socket.receive_json()
    assert closed.value.code == 4401
    headers = auth("demo_grid_worker") | {"origin": "https://elsewhere.example"}
    with (
        pytest.raises(WebSocketDisconnect) as foreign,
        api.websocket_connect("/api/v1/calls/ws", headers=headers) as socket,
    ):
        socket.receive_json()
    assert foreign.value.code == 4403


def test_bad_signals_are_refused_before_anything_passes(api: TestClient, auth: Auth) -> None:
    huge = {"conn": "x", "kind": "offer", "sdp": "v" * 20_001}
    response = api.post("/api/v1/calls/1/signal", headers=auth("demo_operator"), json=huge)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "sdp"
    odd = {"conn": "x", "kind": "bye"}
    response = api.post("/api/v1/calls/1/signal", headers=auth("demo_operator"), json=odd)
    assert response.status_code == 422


def test_ice_servers_default_to_none_and_turn_gets_time_limited_credentials(
    bound: BoundDatabase, seeded: Seeded, clock: FixedClock, auth: Auth
) -> None:
    with TestClient(create_app(seeded.settings, database=bound, clock=clock)) as api:
        plain = api.get("/api/v1/calls/config", headers=auth("demo_grid_worker")).json()
    assert plain["ice_servers"] == []
    settings = seeded.settings.model_copy(update={
        "call_ice_servers": [IceServer(urls="stun:stun.example.gov.cn:3478")],
        "call_turn_urls": "turn:turn.example.gov.cn:3478", "call_turn_secret": "s3cret",
    })  # fmt: skip
    with TestClient(create_app(settings, database=bound, clock=clock)) as api:
        got = api.get("/api/v1/calls/config", headers=auth("demo_grid_worker")).json()
    stun, turn = got["ice_servers"]
    assert stun == {"urls": "stun:stun.example.gov.cn:3478"}
    expiry, user = turn["username"].split(":")
    assert int(expiry) == int(clock.now().timestamp()) + 3600 and user.isdigit()
    digest = hmac.new(b"s3cret", turn["username"].encode(), hashlib.sha1).digest()
    assert turn["credential"] == base64.b64encode(digest).decode()


def test_a_socket_whose_user_signed_out_is_closed(
    api: TestClient, auth: Auth, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "RECHECK_SECONDS", 0.05)
    state = api.app.state  # type: ignore[attr-defined]
    signed_in = state.authenticate

    async def signed_out_later(request: Any, token: Any, key: Any) -> Any:
        state.authenticate = refuse
        return await signed_in(request, token, key)

    async def refuse(*_: Any) -> Any:
        raise unauthorized("signed out", "已退出登录")

    state.authenticate = signed_out_later
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        phone(api, auth, "demo_grid_worker") as (socket, _),
    ):
        socket.receive_json()
    assert closed.value.code == 4401

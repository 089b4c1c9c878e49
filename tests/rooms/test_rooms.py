"""Meeting rooms (issue 18, item 3): a room per level from the org tree; the district opens a
session inviting towns, whose staff are told; parties join over the calls' signalling socket and
pass SDP to each other; a 9th party, a closed session and a room out of scope are refused in both
languages; the record keeps who joined and left, and the linked events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import WebSocketTestSession

from fengqiao.auth.models import User, UserRole
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.rooms.models import RoomParticipant
from tests.calls.test_calls import phone, refused
from tests.events.conftest import Desk, World

Auth = Any


def towns(db: Session, world: World) -> tuple[OrgUnit, OrgUnit, OrgUnit]:
    """The district, the demo operator's town and a second town (the test district has one),
    made here with an operator of its own, `op<code>_1` as the demo names them."""
    operator = db.get(User, world.ids["demo_operator"])
    assert operator is not None
    town = db.get(OrgUnit, operator.home_org_id)
    assert town is not None and town.kind == "town" and town.parent_id is not None
    district = db.get(OrgUnit, town.parent_id)
    assert district is not None
    other = OrgUnit(code=district.code + "999", name="湖塘街道", kind="town",
                    parent_id=district.id, path="")  # fmt: skip
    db.add(other)
    db.flush()
    other.path = f"{district.path}{other.id}/"
    stranger = User(username=f"op{other.code}_1", name="湖塘坐席", home_org_id=other.id)
    db.add(stranger)
    db.flush()
    db.add(UserRole(user_id=stranger.id, role="operator"))
    db.flush()
    return district, town, other


def operator_of(db: Session, town: OrgUnit) -> str:
    return f"op{town.code}_1"


@contextmanager
def joined(
    api: TestClient, auth: Auth, user: str, session_id: int
) -> Iterator[tuple[WebSocketTestSession, str, dict[str, Any]]]:
    with phone(api, auth, user) as (socket, conn):
        answer = post(api, auth, user, f"/rooms/sessions/{session_id}/join", conn=conn)
        assert answer.status_code == 200, answer.text
        yield socket, conn, answer.json()


def settle(db: Session, session_id: int, left: int) -> None:
    """Wait until `left` stays of the session have ended in the database: a closed socket's
    parties are taken out at once and their rows written right after (one at a time here, as
    the test's database is one connection)."""
    query = select(func.count(RoomParticipant.id)).where(
        RoomParticipant.session_id == session_id, RoomParticipant.left_at.is_not(None)
    )
    for _ in range(100):
        if db.scalar(query) == left:
            return
        time.sleep(0.02)
    assert db.scalar(query) == left


def post(api: TestClient, auth: Auth, user: str, path: str, **body: Any) -> Any:
    return api.post("/api/v1" + path, headers=auth(user), json=body)


def test_rooms_follow_the_org_tree_and_the_callers_scope(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    district, town, other = towns(db, world)
    mine = api.get("/api/v1/rooms", headers=auth("demo_district_operator")).json()
    names = {r["org_id"]: r["name"] for r in mine}
    assert names[district.id] == district.name + "社会治理中心"
    assert names[town.id] == town.name + "指挥室" and other.id in names
    assert {r["kind"] for r in mine} == {"district", "town", "village"}
    theirs = api.get("/api/v1/rooms", headers=auth("demo_operator")).json()
    assert theirs[0]["org_id"] == town.id
    assert all(r["path"].startswith(town.path) for r in theirs)
    assert api.get("/api/v1/rooms", headers=auth("demo_resident")).json() == []
    refused(
        api.get(f"/api/v1/rooms/{other.id}", headers=auth("demo_operator")),
        403, "room-out-of-scope", "不在您的管辖范围内",
    )  # fmt: skip
    # A town cannot open a meeting in another town's room, nor in the district's.
    for room in (other, district):
        refused(
            post(api, auth, "demo_operator", f"/rooms/{room.id}/sessions", title="越权"),
            403, "room-out-of-scope", "超出管辖范围",
        )  # fmt: skip


def test_the_district_invites_towns_who_are_told_join_and_signal_each_other(
    api: TestClient, auth: Auth, world: World, db: Session, desk: Desk
) -> None:
    district, town, other = towns(db, world)
    event = desk.file()
    other_operator = operator_of(db, other)
    with phone(api, auth, "demo_operator") as (town_page, town_conn):
        opened = post(
            api, auth, "demo_district_operator", f"/rooms/{district.id}/sessions",
            title="防汛会商", invited_org_ids=[town.id, other.id], event_ids=[event["id"]],
        )  # fmt: skip
        assert opened.status_code == 201, opened.text
        session = opened.json()
        assert session["room"] == district.name + "社会治理中心"
        assert [i["org_id"] for i in session["invited"]] == [town.id, other.id]
        # The town operator's open page rings with the invitation.
        rung = town_page.receive_json()
        assert rung["type"] == "room-invite" and rung["session"]["id"] == session["id"]
        assert rung["session"]["title"] == "防汛会商"
        # Both towns' command staff have the message with the link in their app inbox.
        inbox = db.scalars(
            select(Outbox).where(Outbox.template == "room_invite", Outbox.channel == "app")
        ).all()
        told = {row.user_id for row in inbox}
        assert {world.ids["demo_operator"], world.ids["demo_leader"]} <= told
        assert all(row.payload["path"] == f"/rooms/{district.id}" for row in inbox)
        # Invited: the town sees the district's room and may join it; a second open is refused.
        listed = api.get("/api/v1/rooms", headers=auth("demo_operator")).json()
        assert [r["org_id"] for r in listed if r["invited"]] == [district.id]
        refused(
            post(api, auth, "demo_district_leader", f"/rooms/{district.id}/sessions", title="再开"),
            409, "session-open", "会商进行中",
        )  # fmt: skip
        sid = session["id"]
        with joined(api, auth, "demo_district_operator", sid) as (host, host_conn, first):
            with joined(api, auth, "demo_operator", sid) as (guest, guest_conn, second):
                assert first["parties"] == [] and first["max_parties"] == 8
                assert [p["id"] for p in second["parties"]] == [first["me"]]
                arrived = host.receive_json()
                assert arrived["type"] == "room-joined" and arrived["party"]["id"] == second["me"]
                # The newcomer offers to the one already there; the answer comes back.
                sdp = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n"
                sent = post(api, auth, "demo_operator", f"/rooms/sessions/{sid}/signal",
                            conn=guest_conn, to=first["me"], kind="offer", sdp=sdp)  # fmt: skip
                assert sent.status_code == 204, sent.text
                offer = host.receive_json()
                assert offer == {"type": "room-signal", "session_id": sid, "from": second["me"],
                                 "kind": "offer", "sdp": sdp, "candidate": None}  # fmt: skip
                # A party cannot speak for another page, nor send without an SDP.
                refused(
                    post(api, auth, "demo_operator", f"/rooms/sessions/{sid}/signal",
                         conn=host_conn, to=first["me"], kind="offer", sdp=sdp),
                    409, "not-in-meeting", "未加入",
                )  # fmt: skip
                bare = post(api, auth, "demo_district_operator", f"/rooms/sessions/{sid}/signal",
                            conn=host_conn, to=second["me"], kind="answer")  # fmt: skip
                assert bare.status_code == 422
                # The other town, invited too, joins; a room it was not invited to stays closed.
                with joined(api, auth, other_operator, sid) as (_third, _c, third):
                    assert len(third["parties"]) == 2
                    assert host.receive_json()["type"] == "room-joined"
                    assert guest.receive_json()["type"] == "room-joined"
                    left = post(api, auth, other_operator, f"/rooms/sessions/{sid}/leave", conn=_c)
                    assert left.status_code == 204
                    gone = host.receive_json()
                    assert gone == {"type": "room-left", "session_id": sid, "party": third["me"],
                                    "how": "left"}  # fmt: skip
                    assert guest.receive_json()["type"] == "room-left"
                record = api.get(f"/api/v1/rooms/sessions/{sid}", headers=auth("demo_operator"))
                assert record.status_code == 200, record.text
                body = record.json()
                assert body["live"] == [first["me"], second["me"]]
                assert body["event_ids"] == [event["id"]]
            settle(db, sid, 2)
        settle(db, sid, 3)
        # The guest's socket closed with the block: its stay ends as dropped.
        record = api.get(f"/api/v1/rooms/sessions/{sid}", headers=auth("demo_district_operator"))
        parties = record.json()["participants"]
        assert [p["left_how"] for p in parties] == ["dropped", "dropped", "left"]
        assert all(p["joined_at"] and p["left_at"] for p in parties)
        closed = post(api, auth, "demo_district_operator", f"/rooms/sessions/{sid}/close")
        assert closed.status_code == 200 and closed.json()["closed_at"]
        refused(
            post(api, auth, "demo_operator", f"/rooms/sessions/{sid}/join", conn=town_conn),
            409, "session-closed", "会商已结束",
        )  # fmt: skip
        refused(
            post(api, auth, "demo_district_operator", f"/rooms/sessions/{sid}/close"),
            409, "session-closed", "会商已结束",
        )  # fmt: skip
        past = api.get("/api/v1/rooms/sessions", headers=auth("demo_district_operator")).json()
        assert past["total"] == 1 and past["items"][0]["title"] == "防汛会商"
        # The town's list holds only its own rooms' sessions.
        assert api.get("/api/v1/rooms/sessions", headers=auth("demo_operator")).json()["total"] == 0


def test_a_ninth_party_is_refused_and_a_stranger_cannot_join(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    _district, town, other = towns(db, world)
    opened = post(api, auth, "demo_operator", f"/rooms/{town.id}/sessions", title="镇街会商")
    assert opened.status_code == 201, opened.text
    sid = opened.json()["id"]
    pages = [joined(api, auth, "demo_operator", sid) for _ in range(8)]
    for page in pages:  # eight pages: eight parties
        page.__enter__()
    with phone(api, auth, "demo_leader") as (_socket, conn):
        refused(
            post(api, auth, "demo_leader", f"/rooms/sessions/{sid}/join", conn=conn),
            409, "room-full", "会商人数已满（最多 8 方）",
        )  # fmt: skip
    for done, page in enumerate(reversed(pages), start=1):
        page.__exit__(None, None, None)
        settle(db, sid, done)
    # Another town's operator was not invited: refused, and the page says why.
    stranger = operator_of(db, other)
    with phone(api, auth, stranger) as (_socket, conn):
        refused(
            post(api, auth, stranger, f"/rooms/sessions/{sid}/join", conn=conn),
            403, "room-out-of-scope", "未被邀请",
        )  # fmt: skip
    # A join from a page with no signalling socket is refused too.
    refused(
        post(api, auth, "demo_operator", f"/rooms/sessions/{sid}/join", conn="nosuchpage"),
        409, "caller-offline", "未连接",
    )  # fmt: skip


def test_bad_input_is_bounded_and_stores_nothing(
    api: TestClient, auth: Auth, world: World, db: Session
) -> None:
    district, town, other = towns(db, world)
    url = f"/rooms/{district.id}/sessions"
    too_many = list(range(1, 10))
    for body in (
        {"title": ""},
        {"title": "   "},
        {"title": "长" * 101},
        {"title": "会商", "invited_org_ids": too_many},
        {"title": "会商", "event_ids": list(range(1, 22))},
        {"title": "会商", "extra": 1},
    ):
        answer = post(api, auth, "demo_district_operator", url, **body)
        assert answer.status_code == 422, (body, answer.text)
        assert answer.json()["detail_zh"]
    refused(
        post(api, auth, "demo_district_operator", url, title="会商", invited_org_ids=[district.id]),
        422, "invalid-input", "会商室",
    )  # fmt: skip
    refused(
        post(api, auth, "demo_district_operator", url, title="会商", event_ids=[2**31 - 1]),
        404, "not-found", "事件",
    )  # fmt: skip
    refused(
        post(api, auth, "demo_district_operator", url, title="会商", warning_ids=[2**31 - 1]),
        404, "not-found", "预警",
    )  # fmt: skip
    # A grid has no room; a worker cannot open a meeting.
    grid = world.ids["demo_grid_worker"]
    worker = db.get(User, grid)
    assert worker is not None
    assert (
        api.get(f"/api/v1/rooms/{worker.home_org_id}", headers=auth("demo_operator")).status_code
        == 404
    )
    refused(
        post(api, auth, "demo_grid_worker", f"/rooms/{town.id}/sessions", title="会商"),
        403, "forbidden", "需要以下角色之一",
    )  # fmt: skip
    assert api.get("/api/v1/rooms/sessions", headers=auth("admin")).json()["total"] == 0
    assert other.id != town.id

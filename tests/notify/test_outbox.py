"""The outbox: queued once, delivered by plugins, retried with backoff, dead-lettered, resent."""

from __future__ import annotations

import json
import socketserver
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.notify.channels import ChannelError, Message, available, load_channels
from fengqiao.notify.models import Notification
from fengqiao.notify.sender import send_due
from fengqiao.outbox.models import Outbox
from fengqiao.outbox.service import Person, drafts_for, enqueue

from ..conftest import make_settings

NOW = datetime(2026, 12, 1, 1, 0, tzinfo=UTC)
PAYLOAD = {"code": "001-20261201-0001", "category": "占道经营", "place": "柯桥街道", "unit": "执法中队",
           "due": "2026-12-03 09:00", "link": "http://127.0.0.1:8000/events/1"}  # fmt: skip


class Scripted:
    """A channel that does what the recipient's name says: ok, busy (retry) or bad (refuse)."""

    name = "scripted"

    def __init__(self) -> None:
        self.sent: Counter[int] = Counter()
        self.lock = threading.Lock()

    def send(self, message: Message) -> None:
        if message.recipient.startswith("busy"):
            raise ChannelError("gateway busy")
        if message.recipient.startswith("bad"):
            raise ChannelError("no such number", retry=False)
        with self.lock:
            self.sent[message.id] += 1

    def close(self) -> None:
        pass


def _queue(database: Database, recipients: list[str], key: str = "k") -> None:
    people = [Person(None, r, phone=r) for r in recipients]
    with database.transaction() as db:
        drafts = drafts_for(
            people, channels=("sms",), template="reminder", payload=PAYLOAD, key=key
        )
        enqueue(db, drafts, now=NOW)


def _rows(database: Database) -> dict[str, Outbox]:
    with database.session() as db:
        return {r.recipient: r for r in db.scalars(select(Outbox))}


def _settings(database: Database, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {"outbox_backoff_seconds": 30.0, "outbox_max_attempts": 3}
    values.update(overrides)
    return make_settings(database.url, tmp_path, **values)


def test_delivered_retried_with_backoff_then_dead(fresh_db: Database, tmp_path: Path) -> None:
    settings = _settings(fresh_db, tmp_path)
    channel = Scripted()
    _queue(fresh_db, ["ok-1", "busy-1", "bad-1"])
    _queue(fresh_db, ["ok-1"])  # the same dedupe key again: dropped
    assert len(_rows(fresh_db)) == 3
    assert send_due(fresh_db, {"sms": channel}, NOW, settings) == {
        "sent": 1, "retried": 1, "dead": 1,
    }  # fmt: skip
    rows = _rows(fresh_db)
    assert rows["ok-1"].status == "sent" and rows["ok-1"].sent_at == NOW
    assert rows["bad-1"].status == "dead" and "no such number" in (rows["bad-1"].error or "")
    busy = rows["busy-1"]
    assert busy.status == "pending" and busy.attempts == 1
    assert busy.next_attempt_at == NOW + timedelta(seconds=30)
    assert send_due(fresh_db, {"sms": channel}, NOW + timedelta(seconds=29), settings) == {}
    assert send_due(fresh_db, {"sms": channel}, NOW + timedelta(seconds=30), settings) == {
        "retried": 1
    }
    busy = _rows(fresh_db)["busy-1"]
    assert busy.next_attempt_at == NOW + timedelta(seconds=30 + 60)  # doubled
    assert send_due(fresh_db, {"sms": channel}, NOW + timedelta(days=1), settings) == {"dead": 1}
    assert _rows(fresh_db)["busy-1"].attempts == 3
    assert list(channel.sent.values()) == [1]


def test_a_kind_without_a_plugin_is_dead_not_lost(fresh_db: Database, tmp_path: Path) -> None:
    _queue(fresh_db, ["ok-2"])
    assert send_due(fresh_db, {}, NOW, _settings(fresh_db, tmp_path)) == {"dead": 1}
    assert "no channel plugin" in (_rows(fresh_db)["ok-2"].error or "")


def test_two_senders_never_send_one_message_twice(fresh_db: Database, tmp_path: Path) -> None:
    settings = _settings(fresh_db, tmp_path, worker_batch=25)
    _queue(fresh_db, [f"ok-{n}" for n in range(300)])
    channel = Scripted()
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run() -> None:
        database = Database(fresh_db.url)
        try:
            barrier.wait()
            send_due(database, {"sms": channel}, NOW, settings)
        except BaseException as exc:
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert errors == []
    assert len(channel.sent) == 300 and set(channel.sent.values()) == {1}
    assert {r.status for r in _rows(fresh_db).values()} == {"sent"}


def test_the_shipped_plugins_are_entry_points() -> None:
    assert set(available()) >= {"sms", "email", "app", "log"}


# --- the sms plugin against a real HTTP gateway ------------------------------------------------


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[tuple[dict[str, str], dict[str, Any]]]]]:
    seen: list[tuple[dict[str, str], dict[str, Any]]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((dict(self.headers), body))
            status = {"13900000500": 503, "13900000400": 400}.get(body["phone"], 200)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/send", seen
    server.shutdown()
    server.server_close()


def test_sms_through_a_gateway(
    fresh_db: Database, tmp_path: Path, gateway: tuple[str, list[Any]]
) -> None:
    url, seen = gateway
    settings = _settings(
        fresh_db, tmp_path, deliver_via={"sms": "sms"}, sms_gateway_url=url,
        sms_gateway_auth_header="Authorization: Bearer gw-token",
        sms_template_ids={"reminder": "SMS_1001"},
    )  # fmt: skip
    _queue(fresh_db, ["13800000001", "13900000500", "13900000400"])
    channels = load_channels(settings, fresh_db)
    try:
        counts = send_due(fresh_db, channels, NOW, settings)
    finally:
        channels["sms"].close()
    assert counts == {"sent": 1, "retried": 1, "dead": 1}
    headers, body = next((h, b) for h, b in seen if b["phone"] == "13800000001")
    assert headers["Authorization"] == "Bearer gw-token"
    assert body["template_id"] == "SMS_1001" and body["params"]["code"] == PAYLOAD["code"]
    assert "001-20261201-0001" in body["text"] and "占道经营" in body["text"]


def test_the_sms_plugin_needs_a_gateway(fresh_db: Database, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="SMS_GATEWAY_URL"):
        load_channels(_settings(fresh_db, tmp_path, deliver_via={"sms": "sms"}), fresh_db)


# --- the email plugin against a real SMTP server -----------------------------------------------


class _Smtp(socketserver.StreamRequestHandler):
    """Just enough SMTP to accept mail; `BAD` recipients are refused for good."""

    def handle(self) -> None:
        write = self.wfile.write
        write(b"220 test ESMTP\r\n")
        while line := self.rfile.readline():
            verb = line.strip().upper()
            if verb.startswith((b"EHLO", b"HELO")):
                write(b"250 test\r\n")
            elif verb.startswith(b"RCPT") and b"BAD" in verb:
                write(b"550 no such mailbox\r\n")
            elif verb.startswith((b"MAIL", b"RCPT", b"RSET", b"NOOP")):
                write(b"250 ok\r\n")
            elif verb == b"DATA":
                write(b"354 go\r\n")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                self.server.mails.append(data)  # type: ignore[attr-defined]
                write(b"250 queued\r\n")
            elif verb == b"QUIT":
                write(b"221 bye\r\n")
                return
            else:
                write(b"502 what\r\n")


def test_email_through_smtp(fresh_db: Database, tmp_path: Path) -> None:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), _Smtp)
    server.mails = []  # type: ignore[attr-defined]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings = _settings(
            fresh_db, tmp_path, deliver_via={"email": "email"}, smtp_host="127.0.0.1",
            smtp_port=server.server_address[1], smtp_from="fengqiao@example.org",
        )  # fmt: skip
        people = [Person(None, "a", email="unit@example.org"), Person(None, "b", email="BAD@x.org")]
        with fresh_db.transaction() as db:
            drafts = drafts_for(
                people, channels=("email",), template="reminder", payload=PAYLOAD, key="m"
            )
            enqueue(db, drafts, now=NOW)
        channels = load_channels(settings, fresh_db)
        try:
            assert send_due(fresh_db, channels, NOW, settings) == {"sent": 1, "dead": 1}
        finally:
            channels["email"].close()
        (raw,) = server.mails  # type: ignore[attr-defined]
        mail = message_from_bytes(raw, policy=policy.default)
        assert mail["To"] == "unit@example.org" and mail["From"] == "fengqiao@example.org"
        assert "事件即将到期" in str(mail["Subject"]) and PAYLOAD["code"] in str(mail["Subject"])
        assert PAYLOAD["link"] in mail.get_body().get_content()  # type: ignore[union-attr]
    finally:
        server.shutdown()
        server.server_close()


# --- the app channel, the inbox and the operators' view ----------------------------------------


def test_app_messages_land_in_the_inbox_once(fresh_db: Database, tmp_path: Path) -> None:
    from fengqiao.demo.seed import seed

    seed(db=fresh_db, scale="small", password="pw")
    settings = _settings(fresh_db, tmp_path)
    with fresh_db.session() as db:
        user = db.scalars(select(User).where(User.username == "demo_handler")).one()
    person = Person(user.id, user.name, phone=user.phone)
    with fresh_db.transaction() as db:
        enqueue(
            db,
            drafts_for(
                [person], channels=("sms", "app"), template="reminder", payload=PAYLOAD, key="a"
            ),
            now=NOW,
        )
    channels = load_channels(settings, fresh_db)  # sms → log, app → app by default
    assert send_due(fresh_db, channels, NOW, settings) == {"sent": 2}
    with fresh_db.transaction() as db:  # a crash after delivery: the row is sent again
        row = db.scalars(select(Outbox).where(Outbox.channel == "app")).one()
        row.status, row.next_attempt_at = "pending", NOW
    assert send_due(fresh_db, channels, NOW, settings) == {"sent": 1}
    with fresh_db.session() as db:
        inbox = list(db.scalars(select(Notification).where(Notification.user_id == user.id)))
    # The inbox keeps the path; the public address is put in front when it is read.
    assert len(inbox) == 1 and inbox[0].link == "/events/1"
    assert "事件即将到期" in inbox[0].title and PAYLOAD["code"] in inbox[0].body
    assert "http" not in inbox[0].body  # the inbox shows the link as a button, not as text


def _notify(db: Session, username: str, n: int) -> list[int]:
    user = db.scalars(select(User).where(User.username == username)).one()
    rows = [
        Notification(user_id=user.id, title=f"标题{i}", body=f"内容{i}", link="/events/1",
                     created_at=NOW + timedelta(minutes=i))
        for i in range(n)
    ]  # fmt: skip
    db.add_all(rows)
    db.flush()
    return [r.id for r in rows]


def test_each_user_reads_only_their_inbox(client: TestClient, auth: Any, db: Session) -> None:
    mine = _notify(db, "demo_handler", 3)
    _notify(db, "demo_operator", 2)
    db.commit()
    listed = client.get("/api/v1/me/notifications", headers=auth("demo_handler")).json()
    assert [n["id"] for n in listed["items"]] == mine[::-1] and listed["unread"] == 3
    other = client.post(f"/api/v1/me/notifications/{mine[0]}/read", headers=auth("demo_operator"))
    assert other.status_code == 404
    read = client.post(f"/api/v1/me/notifications/{mine[0]}/read", headers=auth("demo_handler"))
    assert read.status_code == 200 and read.json()["read_at"]
    unread = client.get(
        "/api/v1/me/notifications", params={"unread": True}, headers=auth("demo_handler")
    ).json()
    assert unread["unread"] == 2 and len(unread["items"]) == 2
    marked = client.post("/api/v1/me/notifications/read-all", headers=auth("demo_handler"))
    assert marked.json() == {"marked": 2}


def test_the_stream_sends_new_messages(client: TestClient, auth: Any, db: Session) -> None:
    ids = _notify(db, "demo_handler", 2)
    db.commit()
    headers = {**auth("demo_handler"), "Last-Event-ID": str(ids[0])}
    with client.stream("GET", "/api/v1/me/notifications/stream", headers=headers) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        lines: list[str] = []
        for line in response.iter_lines():
            lines.append(line)
            if line.startswith("data:"):
                break
    assert f"id: {ids[1]}" in lines and "event: notification" in lines
    data = json.loads(lines[-1].removeprefix("data: "))
    assert data["id"] == ids[1] and data["title"] == "标题1"


def test_operators_see_failures_and_resend(client: TestClient, auth: Any, db: Session) -> None:
    dead = Outbox(channel="sms", recipient="13800000009", template="reminder", payload=PAYLOAD,
                  dedupe_key="t:dead", status="dead", attempts=6, next_attempt_at=NOW,
                  created_at=NOW, error="gateway answered 400")  # fmt: skip
    sent = Outbox(channel="sms", recipient="13800000008", template="reminder", payload=PAYLOAD,
                  dedupe_key="t:sent", status="sent", attempts=1, next_attempt_at=NOW,
                  created_at=NOW, sent_at=NOW)  # fmt: skip
    # Neither has an event or a user: they are the district's messages (a town operator's list
    # shows only those of their town, tests/notify/test_outbox_scope.py).
    db.add_all([dead, sent])
    db.commit()
    assert client.get("/api/v1/outbox", headers=auth("demo_handler")).status_code == 403
    listed = client.get(
        "/api/v1/outbox", params={"status": "dead"}, headers=auth("demo_district_operator")
    )
    assert [r["id"] for r in listed.json()] == [dead.id]
    again = client.post(f"/api/v1/outbox/{dead.id}/resend", headers=auth("demo_district_operator"))
    assert again.status_code == 200 and again.json()["status"] == "pending"
    assert again.json()["attempts"] == 0
    twice = client.post(f"/api/v1/outbox/{sent.id}/resend", headers=auth("demo_district_operator"))
    assert twice.status_code == 409 and "不会重复发送" in twice.json()["detail_zh"]
    db.expire_all()
    stored = db.get(Outbox, dead.id)
    assert stored is not None and stored.status == "pending" and stored.error is None

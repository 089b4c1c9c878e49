"""Links in messages use the server's public address, whatever it was when they were queued, and
a reminder is never sent for a moment already past (issue 17, item 1)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.catalogue import proxy
from fengqiao.catalogue.jobs import send_reminders
from fengqiao.catalogue.models import ProxyRequest, ServiceItem
from fengqiao.catalogue.schemas import ProxyCreate
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.events.queries import supervised
from fengqiao.migrate import downgrade, upgrade
from fengqiao.notify.channels import Message
from fengqiao.notify.models import Notification
from fengqiao.notify.plugins.app import AppChannel
from fengqiao.notify.sender import send_due, to_message
from fengqiao.outbox.models import Outbox
from fengqiao.outbox.service import Person, drafts_for, enqueue
from fengqiao.taxonomy.snapshot import load_rules
from fengqiao.worker import run_once

from ..conftest import BoundDatabase
from .conftest import START, Desk

BASE = "http://fq.example:8611"


class Capture:
    """An SMS channel that keeps what it was asked to send."""

    name = "capture"

    def __init__(self) -> None:
        self.sent: list[Message] = []

    def send(self, message: Message) -> None:
        self.sent.append(message)

    def close(self) -> None:
        pass


@pytest.fixture
def public(seeded: Any, tmp_path: Path) -> Settings:
    """The test settings, served under another public address than the default."""
    return seeded.settings.model_copy(
        update={"data_dir": tmp_path, "rules_check_seconds": 0, "public_base_url": BASE}
    )


@pytest.fixture
def api(bound: BoundDatabase, public: Settings, clock: FixedClock) -> Iterator[TestClient]:
    """The events' test app (tests/events/conftest.py), served under BASE."""
    with TestClient(create_app(public, database=bound, clock=clock)) as client:
        yield client


def test_links_use_the_public_address_when_sent_and_read(
    desk: Desk, db: Session, bound: BoundDatabase, public: Settings, seeded: Any, auth: Any
) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    queued = list(db.scalars(select(Outbox).where(Outbox.event_id == event["id"])))
    # Stored rows name the page, not an address.
    assert queued and all(r.payload["path"] == f"/events/{event['id']}" for r in queued)
    assert not any("http" in str(r.payload) for r in queued)
    sms = Capture()
    counts = send_due(bound, {"sms": sms, "app": AppChannel(settings=public, database=bound)},
                      START + timedelta(minutes=1), public)  # fmt: skip
    assert counts["sent"] == len(queued)
    link = f"{BASE}/events/{event['id']}"
    assert sms.sent and all(m.text.endswith(link) and m.link == link for m in sms.sent)
    assert all(m.payload["link"] == link for m in sms.sent)  # the gateway's template field
    inbox = desk.api.get("/api/v1/me/notifications", headers=auth("demo_handler")).json()
    mine = [n for n in inbox["items"] if n["event_id"] == event["id"]]
    assert mine and mine[0]["link"] == link and mine[0]["path"] == f"/events/{event['id']}"
    assert "http" not in mine[0]["body"]
    # The server moves: the same stored message now links to the new address.
    moved = public.model_copy(update={"public_base_url": "https://grid.example.gov.cn/"})
    with TestClient(create_app(moved, database=bound)) as other:
        again = other.get("/api/v1/me/notifications", headers=auth("demo_handler")).json()
    found = [n for n in again["items"] if n["id"] == mine[0]["id"]]
    assert found[0]["link"] == f"https://grid.example.gov.cn/events/{event['id']}"


def test_an_old_row_with_a_whole_link_is_moved_to_the_public_address() -> None:
    row = Outbox(id=1, channel="sms", recipient="13800000000", user_id=None, template="reminder",
                 payload={"code": "X", "link": "http://127.0.0.1:8000/proxy?id=6"},
                 dedupe_key="k", event_id=None, request_id=None)  # fmt: skip
    message = to_message(row, BASE)
    assert message.link == f"{BASE}/proxy?id=6" and message.text.endswith(f"{BASE}/proxy?id=6")
    assert "127.0.0.1" not in message.text


def test_the_demo_seed_and_its_worker_bake_no_address(fresh_db: Database, tmp_path: Path) -> None:
    from fengqiao.demo.events import seed_events
    from fengqiao.demo.seed import seed

    now = datetime(2026, 12, 2, 9, 0, tzinfo=LOCAL_TZ)
    seed(db=fresh_db, scale="small", password="pw", now=now)
    seed_events(db=fresh_db, count=300, until=now, seed=7)
    with fresh_db.session() as db:
        assert not db.scalar(select(Outbox.id).limit(1))  # the seed queues nothing itself
    settings = Settings(database_url=fresh_db.url, data_dir=tmp_path, secret_key="k" * 32,
                        public_base_url=BASE)  # fmt: skip
    run_once(fresh_db, settings, now + timedelta(days=3), names=["sla", "proxy_reminders"])
    with fresh_db.session() as db:
        rows = list(db.scalars(select(Outbox)))
    assert rows, "the demo year leaves reminders and overdue orders to send"
    assert not [r.payload for r in rows if "127.0.0.1" in str(r.payload)]
    assert {to_message(r, BASE).link.split("/")[2] for r in rows} == {"fq.example:8611"}


def test_a_reminder_whose_moment_passed_is_dropped_with_its_reason(
    desk: Desk, db: Session, bound: BoundDatabase, public: Settings, auth: Any
) -> None:
    due = START + timedelta(hours=4)
    people = [Person(None, "值班", phone="13800000001")]
    payload = {"code": "001-X", "due": "2026-12-01 13:00", "path": "/events/1",
               "expires_at": due.isoformat()}  # fmt: skip
    enqueue(db, drafts_for(people, channels=("sms",), template="reminder", payload=payload,
                           key="late"), now=START)  # fmt: skip
    enqueue(db, drafts_for(people, channels=("sms",), template="reminder", payload=payload,
                           key="early"), now=START)  # fmt: skip
    db.commit()
    sms = Capture()
    early = db.scalars(select(Outbox).where(Outbox.dedupe_key.like("early:%"))).one()
    early.next_attempt_at = START  # sent while the moment still lies ahead
    late = db.scalars(select(Outbox).where(Outbox.dedupe_key.like("late:%"))).one()
    late.next_attempt_at = due + timedelta(hours=1)  # the sender was down until after it
    db.commit()
    assert send_due(bound, {"sms": sms}, START + timedelta(minutes=5), public) == {"sent": 1}
    assert send_due(bound, {"sms": sms}, due + timedelta(hours=1), public) == {"expired": 1}
    assert len(sms.sent) == 1  # the late one never went out
    db.expire_all()
    stored = db.get(Outbox, late.id)
    assert stored is not None and stored.status == "expired" and stored.sent_at is None
    assert stored.error is not None and "已过期未发送" in stored.error
    listed = desk.api.get("/api/v1/outbox", params={"status": "expired"},
                          headers=auth("demo_district_operator")).json()  # fmt: skip
    assert [m["id"] for m in listed] == [late.id] and "已过期" in listed[0]["error"]
    again = desk.api.post(
        f"/api/v1/outbox/{late.id}/resend", headers=auth("demo_district_operator")
    )
    assert again.status_code == 409 and "不再补发" in again.json()["detail_zh"]


def test_the_sweepers_reminder_expires_with_its_deadline(
    desk: Desk, db: Session, bound: BoundDatabase
) -> None:
    from fengqiao.events.escalation import EscalationPolicy
    from fengqiao.events.models import Event
    from fengqiao.supervision.sweeper import sweep

    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    stored = db.get(Event, event["id"])
    assert stored is not None and stored.remind_at is not None and stored.due_at is not None
    assert sweep(bound, stored.remind_at, EscalationPolicy()) == {"sent": 1}
    reminders = list(db.scalars(select(Outbox).where(Outbox.event_id == event["id"],
                                                     Outbox.template == "reminder")))  # fmt: skip
    assert reminders and {r.payload["expires_at"] for r in reminders} == {stored.due_at.isoformat()}


def test_no_proxy_reminder_for_a_deadline_already_past(db: Session, bound: BoundDatabase) -> None:
    from fengqiao.auth.models import User
    from fengqiao.auth.service import load_principal
    from fengqiao.catalogue.access import viewer

    monday = datetime(2026, 12, 7, 9, 0, tzinfo=LOCAL_TZ)
    worker = db.scalars(select(User).where(User.username == "demo_grid_worker")).one()
    item = db.scalars(select(ServiceItem).where(ServiceItem.code == "SB-004")).one()
    principal = load_principal(db=db, user_id=worker.id)
    assert principal is not None
    request = proxy.create_proxy(
        db=db, view=viewer(db, principal),
        data=ProxyCreate(item_id=item.id, resident_name="孙八", resident_phone="13905752222"),
        calendar=load_rules(db).calendar, now=monday, collect_days=2,
    )  # fmt: skip
    db.commit()
    # The worker was down from before the reminder time until two days after the deadline.
    late = request.due_at + timedelta(days=2)
    counts = send_reminders(bound, late)
    assert counts["late"] >= 1
    db.expire_all()
    assert not db.scalars(
        select(Outbox).where(Outbox.dedupe_key.like(f"proxy-remind:{request.id}:%"))
    ).all()
    stored = db.get(ProxyRequest, request.id)
    assert stored is not None and stored.reminded_at is not None  # not tried again
    notes = [r.note for r in proxy.trail(db, request.id) if r.action == "remind"]
    assert notes and "已过" in notes[-1]


def test_an_open_supervision_order_marks_its_event(desk: Desk, db: Session, auth: Any) -> None:
    """The lists' 督办 mark (events.queries.supervised) follows the orders' status."""
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    other = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    assert supervised(db, [event["id"], other["id"]]) == set()
    order = desk.api.post(f"/api/v1/events/{event['id']}/supervision-orders",
                          json={"kind": "leader", "requirement": "三日内办结"},
                          headers=auth("demo_leader")).json()  # fmt: skip
    assert supervised(db, [event["id"], other["id"], 10**9]) == {event["id"]}
    replied = desk.api.post(f"/api/v1/supervision-orders/{order['id']}/reply",
                            json={"reply": "已安排处置"}, headers=auth("demo_handler"))  # fmt: skip
    assert replied.status_code == 200
    assert supervised(db, [event["id"]]) == set() and supervised(db, []) == set()


def test_the_migration_moves_stored_inbox_links_to_paths(fresh_db: Database) -> None:
    downgrade(fresh_db.url, "0017_read_caches")
    link = "http://127.0.0.1:8000/events/12"
    with fresh_db.engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO org_unit (id, code, name, kind, path, valid_from) "
                "VALUES (1, '330603', '柯桥区', 'district', '/1/', :at)"
            ),
            {"at": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO user_account (id, username, name, home_org_id, is_active, is_demo, "
                "created_at) VALUES (1, 'u', '某人', 1, true, false, :at)"
            ),
            {"at": datetime.now(UTC)},
        )
        connection.execute(
            text(
                "INSERT INTO notification (id, user_id, title, body, link, created_at) VALUES "
                "(1, 1, '标题', :body, :link, :at), (2, 1, '标题', '内容', '/proxy?id=3', :at)"
            ),
            {"body": f"【枫桥】事件将于明天到期。{link}", "link": link, "at": datetime.now(UTC)},
        )
    upgrade(fresh_db.url)  # fmt: skip
    with fresh_db.session() as db:
        rows = {n.id: n for n in db.scalars(select(Notification))}
    assert rows[1].link == "/events/12" and rows[1].body == "【枫桥】事件将于明天到期。"
    assert rows[2].link == "/proxy?id=3" and rows[2].body == "内容"

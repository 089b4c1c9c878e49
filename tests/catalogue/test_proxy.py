"""Proxy requests (代办): filing, the steps with their checks, scope and masking, deadlines on
the working calendar, the trail, lists and CSV, the reminder, and bad input losing nothing."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User
from fengqiao.auth.service import load_principal
from fengqiao.catalogue import access, proxy
from fengqiao.catalogue.jobs import send_reminders
from fengqiao.catalogue.models import ProxyRequest, ProxyRequestLog, ServiceItem
from fengqiao.catalogue.schemas import ProxyCreate, ProxyTransition, valid_id_number
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.trail import verify_rows
from fengqiao.outbox.models import Outbox
from fengqiao.taxonomy.snapshot import load_rules

Auth = Callable[[str], dict[str, str]]
ID_NUMBER = "11010519491231002X"  # the GB 11643 example


def _item(db: Session, code: str) -> ServiceItem:
    item = db.scalar(select(ServiceItem).where(ServiceItem.code == code))
    assert item is not None
    return item


def _user(db: Session, username: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    assert user is not None
    return user


def _view(db: Session, username: str) -> access.Viewer:
    principal = load_principal(db=db, user_id=_user(db, username).id)
    assert principal is not None
    return access.viewer(db, principal)


def _file(client: TestClient, headers: dict[str, str], **body: Any) -> Any:
    response = client.post("/api/v1/proxy-requests", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def _act(
    client: TestClient, headers: dict[str, str], request: dict[str, Any], action: str, **extra: Any
) -> Any:
    body = {"action": action, "version": request["version"], **extra}
    return client.post(
        f"/api/v1/proxy-requests/{request['id']}/transitions", json=body, headers=headers
    )


def test_a_grid_worker_files_takes_and_finishes(
    client: TestClient, auth: Auth, db: Session
) -> None:
    worker = auth("demo_grid_worker")
    item = _item(db, "SB-001")
    filed = _file(
        client, worker, item_id=item.id, resident_name="王阿婆", resident_phone="13905751234",
        resident_id_number=ID_NUMBER, note="老人行动不便",
    )  # fmt: skip
    assert filed["status"] == "requested" and filed["code"].startswith("DB")
    assert filed["actions"] == ["take", "refuse", "withdraw"]
    grid_id = db.scalar(
        select(GridAssignment.grid_id).where(
            GridAssignment.user_id == _user(db, "demo_grid_worker").id
        )
    )
    assert filed["grid"]["id"] == grid_id and filed["light"] == "green"
    # Five working days for the card plus two to collect the materials.
    created = datetime.fromisoformat(filed["created_at"])
    due = datetime.fromisoformat(filed["due_at"])
    assert timedelta(days=7) <= due - created <= timedelta(days=15)
    taken = _act(client, worker, filed, "take")
    assert taken.status_code == 200 and taken.json()["worker"]["code"] == "demo_grid_worker"
    submitted = _act(client, worker, taken.json(), "submit", note="已递交镇人力社保所")
    assert submitted.json()["status"] == "submitted"
    missing = _act(client, worker, submitted.json(), "complete")
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "result"
    done = _act(client, worker, submitted.json(), "complete", result="社保卡已送达本人")
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "done" and body["result"] == "社保卡已送达本人"
    assert body["light"] is None and body["overdue"] is False and body["actions"] == []
    assert [t["action"] for t in body["trail"]] == ["create", "take", "submit", "complete"]
    assert body["trail"][2]["note"] == "已递交镇人力社保所"
    request = db.get(ProxyRequest, body["id"])
    assert request is not None
    assert proxy.verify_trail(db, request) is None
    # A tampered copy of the chain no longer verifies.
    rows = [
        {**dict(r._mapping), "unit_id": None} for r in db.execute(
            select(ProxyRequestLog.__table__).where(ProxyRequestLog.request_id == request.id)
            .order_by(ProxyRequestLog.seq)
        )
    ]  # fmt: skip
    rows[1]["note"] = "改过"
    assert "altered" in (verify_rows(request.id, rows, None) or "")


def test_steps_refused_by_state_version_and_person(
    client: TestClient, auth: Auth, db: Session
) -> None:
    worker, leader = auth("demo_grid_worker"), auth("demo_grid_leader")
    filed = _file(
        client, worker, item_id=_item(db, "YL-001").id, resident_name="李大伯",
        resident_phone="13905750000",
    )  # fmt: skip
    early = _act(client, worker, filed, "complete", result="x")
    assert early.status_code == 409 and early.json()["type"].endswith("illegal-transition")
    taken = _act(client, leader, filed, "take")  # the grid's leader serves the grid too
    assert taken.status_code == 200
    stale = _act(client, leader, filed, "submit")
    assert stale.status_code == 409 and stale.json()["title_zh"] == "代办事项已被他人更新"
    other = _act(client, worker, taken.json(), "submit")
    assert other.status_code == 403  # only the worker who took it submits
    refuse = _act(client, leader, taken.json(), "refuse")
    assert refuse.status_code == 422 and refuse.json()["errors"][0]["field"] == "note"
    after = client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=leader).json()
    assert after["status"] == "taken" and after["version"] == 2 and len(after["trail"]) == 2
    refused = _act(client, leader, after, "refuse", note="经核查不符合条件")
    assert refused.json()["status"] == "refused" and refused.json()["result"] == "经核查不符合条件"


def test_a_resident_asks_for_themselves_and_follows_it(
    client: TestClient, auth: Auth, db: Session
) -> None:
    resident = auth("demo_resident")
    me = _user(db, "demo_resident")
    filed = _file(client, resident, item_id=_item(db, "YL-002").id)
    assert filed["resident_user_id"] == me.id and filed["resident_name"] == me.name
    assert filed["resident_phone"] == me.phone and filed["actions"] == ["withdraw"]
    mine = client.get("/api/v1/proxy-requests", headers=resident).json()
    assert mine["total"] >= 1
    assert all(r["resident_user_id"] == me.id for r in mine["items"])
    assert filed["id"] in {r["id"] for r in mine["items"]}
    # The grid's workers see it and may take it; the resident may not.
    assert _act(client, resident, filed, "take").status_code == 403
    worker_list = client.get(
        "/api/v1/proxy-requests", params={"status": "requested"}, headers=auth("demo_grid_worker")
    ).json()
    assert filed["id"] in {r["id"] for r in worker_list["items"]}
    withdrawn = _act(client, resident, filed, "withdraw", note="已自行办理")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    trail = client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=resident).json()["trail"]
    assert [t["action_name"] for t in trail] == ["提出代办", "撤回"]
    # Residents ask only for themselves.
    other = client.post(
        "/api/v1/proxy-requests",
        json={"item_id": _item(db, "YL-002").id, "resident_user_id": me.id + 1},
        headers=resident,
    )
    assert other.status_code == 403


def test_a_resident_cannot_file_in_someone_elses_name(
    client: TestClient, auth: Auth, db: Session
) -> None:
    resident = auth("demo_resident")
    me = _user(db, "demo_resident")
    item_id = _item(db, "YL-002").id
    mine_before = client.get("/api/v1/proxy-requests", headers=resident).json()["total"]
    refused = client.post(
        "/api/v1/proxy-requests",
        json={"item_id": item_id, "resident_name": "别人", "resident_phone": "13900000000"},
        headers=resident,
    )
    assert refused.status_code == 422
    problem = refused.json()
    assert {e["field"] for e in problem["errors"]} == {"resident_name", "resident_phone"}
    assert all(e["reason"] and e["reason_zh"] for e in problem["errors"])
    assert client.get("/api/v1/proxy-requests", headers=resident).json()["total"] == mine_before
    # Sending one's own name is refused too: the account alone says who it is for.
    own = client.post(
        "/api/v1/proxy-requests", json={"item_id": item_id, "resident_name": me.name},
        headers=resident,
    )  # fmt: skip
    assert own.status_code == 422 and own.json()["errors"][0]["field"] == "resident_name"
    filed = _file(client, resident, item_id=item_id, note="请上门收件")
    assert filed["resident_name"] == me.name and filed["resident_phone"] == me.phone


def test_who_sees_which_request(client: TestClient, auth: Auth, db: Session) -> None:
    filed = _file(
        client, auth("demo_grid_worker"), item_id=_item(db, "SB-004").id, resident_name="赵六",
        resident_phone="13905759999",
    )  # fmt: skip
    for username in ("demo_operator", "demo_leader", "demo_district_leader", "admin"):
        response = client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=auth(username))
        assert response.status_code == 200, username
    assert (
        client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=auth("demo_resident"))
    ).status_code == 404
    # A grid worker of another grid reads nothing of it.
    demo_grid = filed["grid"]["id"]
    other = db.scalar(
        select(User.username)
        .join(GridAssignment, GridAssignment.user_id == User.id)
        .where(GridAssignment.grid_id != demo_grid, GridAssignment.duty == "full_time")
        .limit(1)
    )
    assert other is not None
    assert (
        client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=auth(other))
    ).status_code == 404
    listed = client.get("/api/v1/proxy-requests", headers=auth(other)).json()
    assert all(r["grid"]["id"] != demo_grid for r in listed["items"])
    assert client.get("/api/v1/proxy-requests", headers=auth("demo_handler")).status_code == 403
    town = client.get("/api/v1/proxy-requests", headers=auth("demo_operator")).json()
    district = client.get("/api/v1/proxy-requests", headers=auth("demo_district_leader")).json()
    assert town["total"] == district["total"] >= 41  # the demo's 40 are all in the demo town


def test_personal_data_is_masked_for_roles_without_need(
    client: TestClient, auth: Auth, db: Session
) -> None:
    filed = _file(
        client, auth("demo_grid_worker"), item_id=_item(db, "SB-001").id,
        resident_name="欧阳春花", resident_phone="13905751234", resident_id_number=ID_NUMBER,
    )  # fmt: skip
    assert filed["resident_name"] == "欧阳春花"  # the filing worker serves the grid

    def listed(username: str) -> dict[str, Any]:
        items = client.get(
            "/api/v1/proxy-requests", params={"q": filed["code"]}, headers=auth(username)
        ).json()["items"]
        assert len(items) == 1
        return dict(items[0])

    worker = listed("demo_grid_worker")
    assert worker["resident_name"] == "欧**花" and worker["resident_phone"] == "139****1234"
    assert worker["resident_id_number"] == "110105********002X"
    operator = listed("demo_operator")
    assert operator["resident_phone"] == "13905751234" and operator["resident_name"] == "欧**花"
    leader = client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=auth("demo_leader"))
    assert leader.json()["resident_phone"] == "139****1234"
    assert leader.json()["resident_id_number"] == "110105********002X"
    detail = client.get(f"/api/v1/proxy-requests/{filed['id']}", headers=auth("demo_operator"))
    assert detail.json()["resident_id_number"] == ID_NUMBER
    # Once taken, only the worker who took it (and the command room) see it whole.
    taken = _act(client, auth("demo_grid_worker"), filed, "take").json()
    assert taken["resident_phone"] == "13905751234"
    leader_view = client.get(
        f"/api/v1/proxy-requests/{filed['id']}", headers=auth("demo_grid_leader")
    )
    assert leader_view.json()["resident_phone"] == "139****1234"


def test_bad_input_is_refused_and_stores_nothing(
    client: TestClient, auth: Auth, db: Session
) -> None:
    worker = auth("demo_grid_worker")
    before = db.scalar(select(func.count()).select_from(ProxyRequest))
    card = _item(db, "SB-001").id
    cases: list[tuple[dict[str, Any], int, str]] = [
        ({"item_id": card, "resident_name": "张三", "resident_phone": "12345"}, 422, "resident_phone"),
        ({"item_id": card, "resident_name": "张三", "resident_phone": "13905751234",
          "resident_id_number": "110105194912310021"}, 422, "resident_id_number"),
        ({"item_id": _item(db, "CM-002").id, "resident_name": "张三",
          "resident_phone": "13905751234"}, 422, "item_id"),
        ({"item_id": 999999, "resident_name": "张三", "resident_phone": "13905751234"}, 422,
         "item_id"),
        ({"item_id": card, "resident_phone": "13905751234"}, 422, "resident_name"),
        ({"item_id": card, "resident_name": "张三", "resident_phone": "13905751234",
          "colour": "red"}, 422, "colour"),
    ]  # fmt: skip
    for body, status, field in cases:
        response = client.post("/api/v1/proxy-requests", json=body, headers=worker)
        assert response.status_code == status, (body, response.text)
        problem = response.json()
        assert problem["errors"][0]["field"] == field and problem["errors"][0]["reason_zh"]
    assert (
        "本人到场"
        in client.post("/api/v1/proxy-requests", json=cases[2][0], headers=worker).json()[
            "detail_zh"
        ]
    )
    # A grid outside the worker's grids is refused.
    other_grid = db.scalar(
        select(GridAssignment.grid_id)
        .where(
            GridAssignment.user_id != _user(db, "demo_grid_worker").id,
            GridAssignment.grid_id
            != db.scalar(
                select(GridAssignment.grid_id).where(
                    GridAssignment.user_id == _user(db, "demo_grid_worker").id
                )
            ),
        )
        .limit(1)
    )
    outside = client.post(
        "/api/v1/proxy-requests",
        json={"item_id": card, "resident_name": "张三", "resident_phone": "13905751234",
              "grid_id": other_grid},
        headers=worker,
    )  # fmt: skip
    assert outside.status_code == 403
    assert client.post("/api/v1/proxy-requests", json={"item_id": card}).status_code == 401
    assert db.scalar(select(func.count()).select_from(ProxyRequest)) == before


def test_id_number_checksum() -> None:
    assert valid_id_number(ID_NUMBER)
    assert not valid_id_number("110105194912310021")
    assert not valid_id_number("11010519491231002")


def test_the_trail_is_append_only(db: Session) -> None:
    row = db.scalar(select(ProxyRequestLog).limit(1))
    assert row is not None
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("UPDATE proxy_request_log SET note = 'x' WHERE id = :id"), {"id": row.id})
    with pytest.raises(DBAPIError), db.begin_nested():
        db.execute(text("DELETE FROM proxy_request_log WHERE id = :id"), {"id": row.id})


def test_the_deadline_counts_working_days_only(db: Session) -> None:
    """Friday 09:00 plus 3 working days (1 for the item, 2 to collect) skips the weekend:
    08:30-12:00 and 13:30-17:30 make 7.5 h a day, so it is due on Wednesday at 09:00."""
    friday = datetime(2026, 12, 4, 9, 0, tzinfo=LOCAL_TZ)
    request = proxy.create_proxy(
        db=db, view=_view(db, "demo_grid_worker"),
        data=ProxyCreate(item_id=_item(db, "SB-004").id, resident_name="钱七",
                         resident_phone="13905751111"),
        calendar=load_rules(db).calendar, now=friday, collect_days=2,
    )  # fmt: skip
    assert request.due_at == datetime(2026, 12, 9, 9, 0, tzinfo=LOCAL_TZ)
    assert proxy.light_of(request, friday + timedelta(days=1)) == "green"
    tuesday = datetime(2026, 12, 8, 10, 0, tzinfo=LOCAL_TZ)
    assert proxy.light_of(request, tuesday) == "yellow"
    wednesday = datetime(2026, 12, 9, 10, 0, tzinfo=LOCAL_TZ)
    assert proxy.light_of(request, wednesday) == "red"
    assert proxy.is_overdue(request, wednesday)
    assert request.remind_at == datetime(2026, 12, 8, 9, 0, tzinfo=LOCAL_TZ)


def test_lists_filter_count_and_export(client: TestClient, auth: Auth) -> None:
    operator = auth("demo_operator")
    everything = client.get("/api/v1/proxy-requests", params={"size": 500}, headers=operator).json()
    summary = everything["summary"]
    items = everything["items"]
    assert summary["open"] == sum(r["status"] in ("requested", "taken", "submitted") for r in items)
    assert summary["overdue"] == sum(r["light"] == "red" for r in items)
    assert summary["done"] == sum(r["status"] == "done" for r in items) >= 10
    red = client.get("/api/v1/proxy-requests", params={"light": "red"}, headers=operator).json()
    assert red["total"] == summary["overdue"]
    done = client.get("/api/v1/proxy-requests", params={"status": "done"}, headers=operator).json()
    assert {r["status"] for r in done["items"]} == {"done"}
    paged = client.get(
        "/api/v1/proxy-requests", params={"size": 5, "page": 2}, headers=operator
    ).json()
    assert [r["id"] for r in paged["items"]] == [r["id"] for r in items[5:10]]
    bad = client.get("/api/v1/proxy-requests", params={"light": "blue"}, headers=operator)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "light"
    dates = client.get(
        "/api/v1/proxy-requests", params={"date_from": "2026-12-02", "date_to": "2026-12-01"},
        headers=operator,
    )  # fmt: skip
    assert dates.status_code == 422 and dates.json()["errors"][0]["field"] == "date_to"
    exported = client.get(
        "/api/v1/proxy-requests/export.csv", params={"status": "done"}, headers=operator
    )
    assert exported.status_code == 200 and exported.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert table[0][:3] == ["编号", "服务事项", "群众"] and len(table) == done["total"] + 1
    assert all("*" in row[2] for row in table[1:])  # names masked as in the list


def test_the_reminder_goes_out_once(db: Session, bound: Database) -> None:
    monday = datetime(2026, 12, 7, 9, 0, tzinfo=LOCAL_TZ)
    view = _view(db, "demo_grid_worker")
    request = proxy.create_proxy(
        db=db, view=view,
        data=ProxyCreate(item_id=_item(db, "SB-004").id, resident_name="孙八",
                         resident_phone="13905752222"),
        calendar=load_rules(db).calendar, now=monday, collect_days=2,
    )  # fmt: skip
    proxy.transition(
        db=db, view=view, request_id=request.id,
        data=ProxyTransition(action="take", version=1), now=monday + timedelta(hours=1),
    )  # fmt: skip
    db.commit()
    assert request.remind_at is not None
    # The seeded requests' reminders (due before this) go out first; this one is not due yet.
    send_reminders(bound, request.remind_at - timedelta(minutes=1))
    db.expire_all()
    assert db.get(ProxyRequest, request.id).reminded_at is None  # type: ignore[union-attr]
    counts = send_reminders(bound, request.remind_at + timedelta(minutes=5))
    assert counts["reminded"] >= 1
    messages = db.scalars(
        select(Outbox).where(Outbox.template == "proxy_reminder", Outbox.dedupe_key.like(
            f"proxy-remind:{request.id}:%"))
    ).all()  # fmt: skip
    worker = _user(db, "demo_grid_worker")
    assert {m.channel for m in messages} == {"app", "sms"}
    assert {m.user_id for m in messages} == {worker.id}
    assert messages[0].payload["code"] == request.code
    # A later sweep does not remind it again (a seeded request may come due in that hour: the
    # seed's requests follow the real clock, so only this request's own messages are counted).
    send_reminders(bound, request.remind_at + timedelta(hours=1))
    db.expire_all()
    again = db.scalars(
        select(Outbox).where(Outbox.template == "proxy_reminder", Outbox.dedupe_key.like(
            f"proxy-remind:{request.id}:%"))
    ).all()  # fmt: skip
    assert len(again) == len(messages)
    actions = [r.action for r in proxy.trail(db, request.id)]
    assert actions == ["create", "take", "remind"]


def test_the_pages(client: TestClient) -> None:
    assert client.get("/proxy", follow_redirects=False).status_code == 303
    for username in ("demo_operator", "demo_grid_worker", "demo_resident"):
        _sign_in(client, username)
        page = client.get("/proxy")
        assert page.status_code == 200 and "代办" in page.text
        assert 'href="/proxy"' in client.get("/services").text  # the nav shows for them
    _sign_in(client, "demo_handler")
    assert client.get("/proxy").status_code == 403


def _sign_in(client: TestClient, username: str) -> None:
    from fengqiao.auth.cookies import SESSION_COOKIE

    response = client.post(
        "/api/v1/auth/token", data={"username": username, "password": "demo-pass-for-tests"}
    )
    assert response.status_code == 200, response.text
    client.cookies.set(SESSION_COOKIE, response.json()["access_token"])


def test_an_operator_files_for_a_grid_of_the_town(
    client: TestClient, auth: Auth, db: Session
) -> None:
    operator = auth("demo_operator")
    body = {
        "item_id": _item(db, "JZ-004").id,
        "resident_name": "周九",
        "resident_phone": "0575-84123456",
    }
    unnamed = client.post("/api/v1/proxy-requests", json=body, headers=operator)
    assert unnamed.status_code == 422 and unnamed.json()["errors"][0]["field"] == "grid_id"
    grid_id = db.scalar(
        select(GridAssignment.grid_id).where(
            GridAssignment.user_id == _user(db, "demo_grid_worker").id
        )
    )
    filed = _file(client, operator, **body, grid_id=grid_id)
    assert filed["grid"]["id"] == grid_id and filed["resident_phone"] == "0575-84123456"
    assert filed["actions"] == ["refuse", "withdraw"]  # the grid's workers take it
    waiting = client.get(
        "/api/v1/proxy-requests", params={"status": "requested"}, headers=auth("demo_grid_worker")
    ).json()
    assert filed["id"] in {r["id"] for r in waiting["items"]}


def test_the_reminder_query_reads_its_partial_index(db: Session) -> None:
    from fengqiao.catalogue.jobs import reminders_due

    statement = reminders_due(datetime(2026, 12, 1, tzinfo=LOCAL_TZ), 500)
    compiled = statement.compile(db.get_bind(), compile_kwargs={"literal_binds": True})
    if db.get_bind().dialect.name == "sqlite":
        plan = " ".join(str(r[-1]) for r in db.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))
    else:
        db.execute(text("SET LOCAL enable_seqscan = off"))
        plan = " ".join(str(r[0]) for r in db.execute(text(f"EXPLAIN {compiled}")))
    assert "ix_proxy_request_reminder_pending" in plan, plan

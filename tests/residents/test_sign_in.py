"""Residents sign in by phone number with a one-time SMS code (issue 19, item 1): the code goes
through the outbox, is stored hashed, lives five minutes, is used once; wrong codes lock the
number; numbers and addresses flooding requests are refused; malformed numbers are refused."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import SmsCode, User
from fengqiao.clock import FixedClock
from fengqiao.outbox.models import Outbox
from fengqiao.scope import PERSONAL_DATA_ROLES
from tests.residents.conftest import SignIn, code_in_outbox, make_app

PHONE = "13957512345"


def _send(api: TestClient, phone: str = PHONE, **kw: Any) -> Any:
    return api.post("/api/v1/auth/sms-code", json={"phone": phone}, **kw)


def _token(api: TestClient, phone: str, code: str) -> Any:
    return api.post("/api/v1/auth/token", data={"phone": phone, "code": code})


def _zh(response: Any) -> str:
    body = response.json()
    assert response.headers["content-type"].startswith("application/problem+json")
    assert body["detail"] and body["detail_zh"]
    return str(body["detail_zh"])


def test_a_new_number_gets_a_code_by_sms_and_signs_in_as_a_resident(
    api: TestClient, db: Session
) -> None:
    sent = _send(api, "+86 139-5751-2345")
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"phone": "139****2345", "expires_in": 300, "resend_after": 60}
    message = db.scalars(select(Outbox).where(Outbox.template == "sms_code")).one()
    assert (message.channel, message.recipient, message.status) == ("sms", PHONE, "pending")
    code = message.payload["code"]
    assert len(code) == 6 and code.isdigit()
    got = _token(api, PHONE, code)
    assert got.status_code == 200, got.text
    me = api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {got.json()['access_token']}"}
    ).json()
    assert me["roles"] == ["resident"]
    assert me["phone"] == "139****2345"  # masked to the resident themselves too
    user = db.scalars(select(User).where(User.phone == PHONE)).one()
    assert user.password_hash is None and not user.is_demo
    assert PHONE not in user.username and PHONE not in user.name


def test_the_same_number_signs_in_to_the_same_account(
    sign_in: SignIn, api: TestClient, db: Session, clock: FixedClock
) -> None:
    first = api.get("/api/v1/users/me", headers=sign_in(PHONE)).json()
    clock.advance(timedelta(minutes=2))
    second = api.get("/api/v1/users/me", headers=sign_in(PHONE)).json()
    assert first["id"] == second["id"]
    assert db.query(User).filter(User.phone == PHONE).count() == 1


def test_codes_are_stored_hashed_never_as_the_code(api: TestClient, db: Session) -> None:
    assert _send(api).status_code == 202
    code = code_in_outbox(db, PHONE)
    row = db.scalars(select(SmsCode).where(SmsCode.phone == PHONE)).one()
    assert code not in row.code_hash and len(row.code_hash) == 64
    # Keyed: the plain SHA-256 of the code (or of number and code) is not what is stored.
    import hashlib

    for text in (code, f"{PHONE}:{code}", PHONE + code):
        assert hashlib.sha256(text.encode()).hexdigest() != row.code_hash
    columns = {c.name for c in SmsCode.__table__.columns}
    assert "code" not in columns


def test_a_used_code_is_refused(api: TestClient, db: Session) -> None:
    _send(api)
    code = code_in_outbox(db, PHONE)
    assert _token(api, PHONE, code).status_code == 200
    again = _token(api, PHONE, code)
    assert again.status_code == 401
    assert again.json()["type"].endswith("/sms-code-used")
    assert "已使用" in _zh(again)


def test_an_expired_code_is_refused(api: TestClient, db: Session, clock: FixedClock) -> None:
    _send(api)
    code = code_in_outbox(db, PHONE)
    clock.advance(timedelta(minutes=5, seconds=1))
    late = _token(api, PHONE, code)
    assert late.status_code == 401
    assert late.json()["type"].endswith("/sms-code-expired")
    assert "过期" in _zh(late)


def test_a_new_code_ends_the_one_before(api: TestClient, db: Session, clock: FixedClock) -> None:
    _send(api)
    old = code_in_outbox(db, PHONE)
    clock.advance(timedelta(minutes=1, seconds=1))
    assert _send(api).status_code == 202
    new = code_in_outbox(db, PHONE)
    if old != new:
        assert _token(api, PHONE, old).status_code == 401
    assert _token(api, PHONE, new).status_code == 200


def test_guessed_codes_lock_the_number_and_kill_the_code(api: TestClient, db: Session) -> None:
    _send(api)
    code = code_in_outbox(db, PHONE)
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(4):
        refused = _token(api, PHONE, wrong)
        assert refused.status_code == 401
        assert refused.json()["type"].endswith("/sms-code-wrong")
        assert "不正确" in _zh(refused)
    fifth = _token(api, PHONE, wrong)
    assert fifth.status_code == 401
    # Locked now: even the right code is refused, with the wait said.
    locked = _token(api, PHONE, code)
    assert locked.status_code == 429
    assert locked.json()["type"].endswith("/sms-code-locked")
    assert int(locked.headers["Retry-After"]) > 0
    assert "锁定" in _zh(locked)
    # The code in flight died with its fifth wrong try.
    row = db.scalars(select(SmsCode).where(SmsCode.phone == PHONE)).one()
    db.refresh(row)
    assert row.used_at is None and row.wrong_tries == 5


def test_a_locked_number_does_not_lock_another(sign_in: SignIn, api: TestClient) -> None:
    _send(api)
    for _ in range(5):
        _token(api, PHONE, "999999")
    assert _token(api, PHONE, "999999").status_code == 429
    assert api.get("/api/v1/users/me", headers=sign_in("13700001111")).status_code == 200


def test_a_number_flooding_code_requests_is_refused(
    bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any, db: Session
) -> None:
    assert seeded.settings.rate_limit_sms_phone.startswith("1/minute")  # the default
    with TestClient(make_app(bound, seeded, clock, tmp_path)) as api:
        assert _send(api).status_code == 202
        flood = _send(api)
        assert flood.status_code == 429
        assert flood.json()["type"].endswith("/sms-code-flood")
        assert "该手机号" in _zh(flood)
        assert int(flood.headers["Retry-After"]) > 0
        assert _send(api, "13700002222").status_code == 202  # another number goes on
    assert db.query(Outbox).filter(Outbox.recipient == PHONE).count() == 1  # nothing more sent


def test_an_address_flooding_code_requests_is_refused(
    bound: Any, seeded: Any, clock: FixedClock, tmp_path: Any, db: Session
) -> None:
    app = make_app(bound, seeded, clock, tmp_path, rate_limit_sms_address="3/minute")
    with TestClient(app) as api:
        for n in range(3):
            assert _send(api, f"1370000{n:04d}").status_code == 202
        flood = _send(api, "13700009999")
        assert flood.status_code == 429
        assert "网络地址" in _zh(flood)
    assert db.query(Outbox).filter(Outbox.recipient == "13700009999").count() == 0


def test_malformed_numbers_are_refused_in_both_languages(api: TestClient, db: Session) -> None:
    for bad in ("12345", "2395751234x", "1395751234567", "phone", "+1 415 555 0100"):
        refused = _send(api, bad)
        assert refused.status_code == 422, bad
        assert refused.json()["errors"][0]["field"] == "phone"
        assert "手机号" in _zh(refused)
    too_long = _send(api, "1" * 33)
    assert too_long.status_code == 422
    assert _token(api, "12345", "123456").status_code == 422
    half = api.post("/api/v1/auth/token", data={"phone": PHONE})
    assert half.status_code == 422 and "验证码" in _zh(half)
    assert db.query(SmsCode).count() == 0 and db.query(Outbox).count() == 0


def test_a_code_asked_for_no_number_is_refused(api: TestClient) -> None:
    never = _token(api, "13600000000", "123456")
    assert never.status_code == 401
    assert "尚未获取" in _zh(never)


def test_a_staff_number_signs_in_as_a_new_resident_never_as_staff(
    api: TestClient, db: Session
) -> None:
    staff = db.scalars(select(User).where(User.username == "demo_operator")).one()
    assert staff.phone and set(staff.roles) & PERSONAL_DATA_ROLES
    _send(api, staff.phone)
    got = _token(api, staff.phone, code_in_outbox(db, staff.phone))
    me = api.get(
        "/api/v1/users/me", headers={"Authorization": f"Bearer {got.json()['access_token']}"}
    ).json()
    assert me["roles"] == ["resident"] and me["id"] != staff.id


def test_the_password_login_still_works(api: TestClient, seeded: Any) -> None:
    got = api.post(
        "/api/v1/auth/token",
        data={"username": "demo_resident", "password": seeded.settings.demo_password},
    )
    assert got.status_code == 200, got.text
    half = api.post("/api/v1/auth/token", data={"username": "demo_resident"})
    assert half.status_code == 422


def test_the_demo_sms_channel_writes_the_code_to_the_log(
    api: TestClient, db: Session, caplog: Any
) -> None:
    """The demo sends no SMS: the `log` plugin writes the message to the worker's log, where a
    demo user reads the code (docs/residents.md)."""
    import logging

    from fengqiao.notify.plugins.log import LogChannel
    from fengqiao.notify.sender import to_message

    _send(api)
    row = db.scalars(select(Outbox).where(Outbox.template == "sms_code")).one()
    message = to_message(row, "http://127.0.0.1:8000")
    with caplog.at_level(logging.INFO, logger="fengqiao.outbox"):
        state = api.app.state  # type: ignore[attr-defined]
        LogChannel(settings=state.settings, database=state.db).send(message)
    assert f"您的登录验证码是{row.payload['code']}" in caplog.text
    assert "5分钟内有效" in caplog.text

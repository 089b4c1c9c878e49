"""Residents sign in by phone number with a one-time code sent by SMS.

A code is six digits, stored only as an HMAC keyed with the server's secret (six digits hashed
without a key would be read back by trying all million); it lives `sms_code_minutes`, is used
once, and a new code for the number ends the ones before it. Wrong codes are counted per number
and per client address by the login lockout (`sessions.LoginThrottle`, keys `phone:<number>`
and `address:<ip>`): after a few the number is locked for a while, the right code or not, and
the code in flight dies. Sending the code (through the outbox) lives above this layer
(`residents.signin`); here are the checks, the storage and the resident account of a number.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from fengqiao.auth.models import LoginFailure, SmsCode, User, UserRole
from fengqiao.auth.sessions import LoginThrottle
from fengqiao.db import Database
from fengqiao.errors import Problem, invalid
from fengqiao.org.models import OrgUnit

CODE_DIGITS = 6
_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_SEPARATORS = re.compile(r"[\s\-()]")


def normalize_phone(raw: str) -> str:
    """A mainland mobile number as 11 digits (`+86 138-0000-0000` → `13800000000`), or 422."""
    phone = _SEPARATORS.sub("", raw or "")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
    if len(phone) == 13 and phone.startswith("86"):
        phone = phone[2:]
    if not _MOBILE.match(phone):
        raise invalid(
            "phone",
            "not a mainland mobile number: 11 digits starting with 13-19",
            "手机号格式不正确，应为以 1 开头的 11 位手机号码",
        )
    return phone


def phone_key(phone: str) -> str:
    return "phone:" + phone


def code_hash(*, phone: str, code: str, key: str) -> str:
    """The stored form of a code: HMAC-SHA256 of number and code under the server's key."""
    return hmac.new(key.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def issue_code(
    *, db: Session, phone: str, key: str, now: datetime, minutes: int
) -> tuple[int, str]:
    """A new code for `phone` (the earlier live ones end now): (its row id, the code). Only the
    hash is written; the caller sends the code and never stores it elsewhere."""
    db.execute(
        update(SmsCode)
        .where(SmsCode.phone == phone, SmsCode.used_at.is_(None), SmsCode.expires_at > now)
        .values(expires_at=now)
    )
    # Rows long dead are forgotten, so the table holds only what can still be asked about.
    db.execute(delete(SmsCode).where(SmsCode.expires_at < now - timedelta(days=1)))
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    row = SmsCode(
        phone=phone, code_hash=code_hash(phone=phone, code=code, key=key), created_at=now,
        expires_at=now + timedelta(minutes=minutes), used_at=None, wrong_tries=0,
    )  # fmt: skip
    db.add(row)
    db.flush()
    return row.id, code


def _refusal(slug: str, title: str, title_zh: str, detail: str, detail_zh: str) -> Problem:
    return Problem(401, slug, title, title_zh, detail, detail_zh)


def code_wrong() -> Problem:
    return _refusal(
        "sms-code-wrong", "Wrong code", "验证码错误",
        "the code is wrong; check the SMS and try again", "验证码不正确，请核对短信后重新输入",
    )  # fmt: skip


def code_expired() -> Problem:
    return _refusal(
        "sms-code-expired", "Code expired", "验证码已过期",
        "the code has expired; ask for a new one", "验证码已过期，请重新获取",
    )  # fmt: skip


def code_used() -> Problem:
    return _refusal(
        "sms-code-used", "Code already used", "验证码已使用",
        "this code was used already; ask for a new one", "该验证码已使用过，请重新获取",
    )  # fmt: skip


def no_code() -> Problem:
    return _refusal(
        "sms-code-missing", "No code sent", "未获取验证码",
        "no code was sent to this number; ask for one first", "该手机号尚未获取验证码，请先获取",
    )  # fmt: skip


def code_locked(seconds: float) -> Problem:
    wait = max(1, math.ceil(seconds))
    minutes = max(1, math.ceil(wait / 60))
    return Problem(
        429, "sms-code-locked", "Too many wrong codes", "验证码错误次数过多",
        f"too many wrong codes for this number or from this address; retry in {wait} s",
        f"该手机号或该地址验证码错误次数过多，已暂时锁定，请 {minutes} 分钟后再试",
        headers={"Retry-After": str(wait)},
    )  # fmt: skip


def _check(db: Session, *, phone: str, code: str, key: str, now: datetime, max_tries: int) -> str:
    """'ok', or why the code is refused ('wrong', 'expired', 'used', 'missing'); a right code
    is marked used, a wrong one counted on the code (its last allowed try kills it)."""
    row = db.scalar(
        select(SmsCode).where(SmsCode.phone == phone).order_by(SmsCode.id.desc()).limit(1)
        .with_for_update()
    )  # fmt: skip
    if row is None:
        return "missing"
    right = hmac.compare_digest(row.code_hash, code_hash(phone=phone, code=code, key=key))
    if row.used_at is not None:
        return "used" if right else "wrong"
    if row.expires_at <= now:
        return "expired" if right else "wrong"
    if not right:
        row.wrong_tries += 1
        if row.wrong_tries >= max_tries:
            row.expires_at = now
        return "wrong"
    row.used_at = now
    return "ok"


def verify_code(
    *,
    database: Database,
    phone: str,
    code: str,
    key: str,
    now: datetime,
    throttle: LoginThrottle | None,
    address: str | None,
    max_tries: int,
    town_id: int | None = None,
) -> User:
    """The resident signed in by this number and code (an account made for a new number), or
    a refusal: 429 while the number or address is locked, 401 for a wrong, expired or used
    code (counted towards the lock). Each outcome is committed in its own transaction."""
    keys = [phone_key(phone)] + ([f"address:{address[:120]}"] if address else [])
    if throttle is not None:
        try:
            throttle.check(keys)
        except Problem as locked:
            if locked.status != 429:
                raise
            raise code_locked(float((locked.headers or {}).get("Retry-After", 60))) from None
    if not re.fullmatch(rf"\d{{{CODE_DIGITS}}}", code):
        outcome = "wrong"
    else:
        with database.transaction() as db:
            outcome = _check(db, phone=phone, code=code, key=key, now=now, max_tries=max_tries)
    if outcome != "ok":
        if throttle is not None:
            throttle.failed(keys)
        raise {
            "wrong": code_wrong, "expired": code_expired, "used": code_used, "missing": no_code,
        }[outcome]()  # fmt: skip
    with database.transaction() as db:
        db.execute(delete(LoginFailure).where(LoginFailure.key == phone_key(phone)))
        user = resident_for_phone(db=db, phone=phone, now=now, town_id=town_id)
        db.expunge(user)
    return user


def find_resident(*, db: Session, phone: str) -> User | None:
    """The active resident account of this number (the oldest when there are several); staff
    accounts are never signed in by a code."""
    return db.scalar(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.phone == phone, UserRole.role == "resident", User.is_active.is_(True))
        .order_by(User.id)
        .limit(1)
    )


def resident_for_phone(
    *, db: Session, phone: str, now: datetime, town_id: int | None = None
) -> User:
    """The resident account of this number, made on first sign-in: role `resident`, no password,
    home the district of `town_id` (the town the phone reported being in), else the root of the
    tree (the district of a district-only database; a province's root until the resident's first
    report moves it to that report's district, `home_after_report`). A resident reads only their
    own reports whatever their home; the home picks the notices they see first."""
    user = find_resident(db=db, phone=phone)
    if user is not None:
        return user
    home_id = None
    if town_id is not None:
        home_id = db.scalar(
            select(OrgUnit.parent_id).where(OrgUnit.id == town_id, OrgUnit.kind == "town")
        )
    if home_id is None:
        home_id = db.scalar(
            select(OrgUnit.id).where(OrgUnit.parent_id.is_(None)).order_by(OrgUnit.id).limit(1)
        )
    if home_id is None:
        raise invalid("phone", "the district is not set up yet", "辖区尚未建立，暂不能注册")
    user = User(
        username="r" + secrets.token_hex(6), name="居民" + phone[-4:], phone=phone,
        home_org_id=home_id, is_active=True, is_demo=False, created_at=now,
    )  # fmt: skip
    user.role_rows = [UserRole(role="resident")]
    db.add(user)
    db.flush()
    return user


def home_after_report(*, db: Session, user_id: int, district_id: int | None) -> bool:
    """A resident homed above any district (the root of a province) moves to the district of
    their first report; True when the home moved. Staff homes never move."""
    if district_id is None:
        return False
    user = db.get(User, user_id)
    if user is None or [r.role for r in user.role_rows] != ["resident"]:
        return False
    home = db.get(OrgUnit, user.home_org_id)
    if home is None or home.kind not in ("province", "city"):
        return False
    user.home_org_id = district_id
    db.flush()
    return True

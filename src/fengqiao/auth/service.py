"""Accounts: authentication, principals, users and API keys."""

from __future__ import annotations

import time
from collections.abc import Sequence
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import GRID_DUTIES, ROLES, ApiKey, GridAssignment, User, UserRole
from fengqiao.auth.scope import Principal, in_scope
from fengqiao.auth.security import (
    NewApiKey,
    api_key_matches,
    api_key_prefix,
    hash_password,
    new_api_key,
    verify_password,
)
from fengqiao.db import utcnow
from fengqiao.errors import Problem, invalid
from fengqiao.org.models import OrgUnit, Unit


def authenticate(*, db: Session, username: str, password: str) -> User | None:
    """The active user with this username and password, or None."""
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    if user is None or not ok or not user.is_active:
        return None
    return user


def load_principal(*, db: Session, user_id: int) -> Principal | None:
    """The principal of an active user, or None when the user is gone or disabled."""
    row = db.execute(
        select(User, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == user_id, User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    user, path = row
    return Principal(
        user_id=user.id,
        username=user.username,
        name=user.name,
        roles=frozenset(user.roles),
        home_org_id=user.home_org_id,
        home_path=path,
        unit_id=user.unit_id,
    )


def principal_for_api_key(*, db: Session, key: str) -> Principal | None:
    """The principal of an unrevoked API key, or None."""
    prefix = api_key_prefix(key)
    if prefix is None:
        return None
    api_key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix, ApiKey.revoked_at.is_(None)))
    if api_key is None or not api_key_matches(key, api_key.key_hash):
        return None
    return load_principal(db=db, user_id=api_key.user_id)


class PrincipalCache:
    """Principals by credential, trusted for `ttl` seconds so hot requests skip the database."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[object, tuple[float, Principal]] = {}
        self._lock = Lock()

    def get(self, key: object) -> Principal | None:
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry[0] > self.ttl:
            return None
        return entry[1]

    def put(self, key: object, principal: Principal) -> None:
        with self._lock:
            if len(self._entries) > 50_000:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), principal)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


def _org_by_code(db: Session, code: str, field: str) -> OrgUnit:
    org = db.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if org is None:
        raise invalid(field, f"no org unit with code {code}", f"不存在编码为 {code} 的区划或网格")
    return org


def create_user(
    *,
    db: Session,
    username: str,
    name: str,
    password: str | None,
    roles: Sequence[str],
    home_org_code: str,
    unit_code: str | None = None,
    grid_codes: Sequence[str] = (),
    phone: str | None = None,
) -> User:
    """Add a user with roles, a home org unit and the grids they serve."""
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise invalid(
            "roles",
            f"unknown or missing roles {unknown}; known: {', '.join(ROLES)}",
            f"角色无效 {unknown};可选:{'、'.join(ROLES)}",
        )
    if db.scalar(select(func.count()).where(User.username == username)):
        raise Problem(
            409, "duplicate-username", "Username taken", "用户名已存在",
            f"a user named {username!r} exists", f"用户名 {username} 已被使用",
        )  # fmt: skip
    home = _org_by_code(db, home_org_code, "home_org_code")
    unit_id = None
    if unit_code:
        unit = db.scalar(select(Unit).where(Unit.code == unit_code))
        if unit is None:
            raise invalid("unit_code", f"no unit {unit_code}", f"不存在单位 {unit_code}")
        unit_id = unit.id
    user = User(
        username=username,
        name=name,
        phone=phone,
        password_hash=hash_password(password) if password else None,
        home_org_id=home.id,
        unit_id=unit_id,
        role_rows=[UserRole(role=r) for r in sorted(set(roles))],
    )
    db.add(user)
    db.flush()
    for code in grid_codes:
        grid = _org_by_code(db, code, "grid_codes")
        if grid.kind != "grid":
            raise invalid("grid_codes", f"{code} is not a grid", f"{code} 不是网格")
        duty = "leader" if "grid_leader" in roles else "full_time"
        assert duty in GRID_DUTIES
        db.add(GridAssignment(user_id=user.id, grid_id=grid.id, duty=duty))
    db.flush()
    return user


def set_password(*, db: Session, username: str, password: str) -> User:
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise invalid("username", f"no user {username}", f"不存在用户 {username}")
    user.password_hash = hash_password(password)
    db.flush()
    return user


def create_api_key(*, db: Session, username: str, name: str) -> NewApiKey:
    """A new API key for a (device) user; the key itself is returned once and never stored."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise invalid("username", f"no user {username}", f"不存在用户 {username}")
    made = new_api_key()
    db.add(ApiKey(prefix=made.prefix, key_hash=made.key_hash, name=name, user_id=user.id))
    db.flush()
    return made


def revoke_api_key(*, db: Session, prefix: str) -> None:
    api_key = db.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if api_key is None:
        raise invalid("prefix", f"no API key {prefix}", f"不存在密钥 {prefix}")
    api_key.revoked_at = utcnow()
    db.flush()


def list_users(
    *,
    db: Session,
    principal: Principal,
    role: str | None = None,
    org_code: str | None = None,
    demo_only: bool = False,
    username: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[tuple[User, OrgUnit]]]:
    """Users whose home lies in the caller's scope, newest ids last; returns (total, page)."""
    query = select(User, OrgUnit).join(OrgUnit, OrgUnit.id == User.home_org_id)
    query = query.where(in_scope(principal, OrgUnit.path))
    if role:
        query = query.where(User.id.in_(select(UserRole.user_id).where(UserRole.role == role)))
    if org_code:
        org = _org_by_code(db, org_code, "org")
        principal.require_covers(org.path)
        query = query.where(OrgUnit.path.startswith(org.path, autoescape=True))
    if demo_only:
        query = query.where(User.is_demo.is_(True))
    if username:
        query = query.where(User.username == username)
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(query.order_by(User.id).offset(offset).limit(limit)).all()
    return total, list(rows)

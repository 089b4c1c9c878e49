"""Accounts: authentication, principals, users and API keys."""

from __future__ import annotations

import time
from collections.abc import Sequence
from threading import Lock
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import GRID_DUTIES, ApiKey, GridAssignment, User, UserRole
from fengqiao.auth.passwords import PasswordPolicy
from fengqiao.auth.security import (
    NewApiKey,
    api_key_matches,
    api_key_prefix,
    hash_password,
    new_api_key,
    verify_password,
)
from fengqiao.auth.sessions import LoginThrottle, revoke_user_tokens
from fengqiao.config import Settings, get_settings
from fengqiao.db import utcnow
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.org.codes import kind_of_code
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.org.service import bump_counter, read_counter
from fengqiao.ratelimit import current_caller
from fengqiao.scope import ROLES, Principal, in_scope


def password_policy(settings: Settings | None = None) -> PasswordPolicy:
    """The policy the settings ask for (the process's settings when none are given: the CLI)."""
    settings = settings or get_settings()
    return PasswordPolicy(
        min_length=settings.password_min_length, min_score=settings.password_min_score
    )


def authenticate(
    *,
    db: Session,
    username: str,
    password: str,
    address: str | None = None,
    throttle: LoginThrottle | None = None,
) -> User | None:
    """The active user with this username and password, or None.

    Wrong passwords are counted per account and per client address; while either is locked
    this raises 429 without looking at the password. Inside a request the address and the
    app's throttle come from the rate-limit middleware when not given.
    """
    caller = current_caller.get()
    if caller is not None:
        address = address or caller.address
        throttle = throttle or getattr(caller.app_state, "logins", None)
    keys = throttle.keys(username, address) if throttle else []
    had_failures = throttle.check(keys) if throttle else False
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user else None, password)
    refused = user is None or not ok or not user.is_active
    if throttle and (refused or had_failures):
        # The outcome is written in a transaction of its own; end the caller's read first, so
        # that no enclosing transaction (a test's, or a savepoint) can roll the count back.
        if not (db.new or db.dirty or db.deleted):
            db.commit()
        if refused:
            throttle.failed(keys)
        else:
            throttle.succeeded(username)
    return None if refused else user


def load_principal(*, db: Session, user_id: int) -> Principal | None:
    """The principal of an active user, or None when the user is gone or disabled."""
    # Plain columns, no ORM objects: this runs whenever a credential is not in the cache.
    row = db.execute(
        select(User.id, User.username, User.name, User.home_org_id, User.unit_id, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == user_id, User.is_active.is_(True))
    ).first()
    if row is None:
        return None
    roles = db.scalars(select(UserRole.role).where(UserRole.user_id == user_id)).all()
    above, towns = home_reach(db, row.path)
    return Principal(
        user_id=row.id,
        username=row.username,
        name=row.name,
        roles=frozenset(roles),
        home_org_id=row.home_org_id,
        home_path=row.path,
        unit_id=row.unit_id,
        above_district=above,
        towns=towns,
    )


def home_reach(db: Session, path: str) -> tuple[int, frozenset[int] | None]:
    """(path segments above the district, the towns a home above the towns is limited to).

    A home that is the only root of the tree (today's district-only database, or a province
    holding everything) is not limited; a district, city or province sharing the database with
    others is limited to the towns below it.
    """
    ids = [int(part) for part in path.strip("/").split("/") if part]
    if not ids:
        return 0, None
    kinds = dict(db.execute(select(OrgUnit.id, OrgUnit.kind).where(OrgUnit.id.in_(ids))).all())
    above = sum(1 for i in ids if kinds.get(i) in ("province", "city"))
    if len(ids) - above > 1:
        return above, None  # a town, village or grid: its own column filters
    other_root = db.scalar(
        select(OrgUnit.id).where(OrgUnit.parent_id.is_(None), OrgUnit.id != ids[0]).limit(1)
    )
    if len(ids) == 1 and other_root is None:
        return above, None
    towns = db.scalars(
        select(OrgUnit.id).where(
            OrgUnit.kind == "town", OrgUnit.path.startswith(path, autoescape=True)
        )
    ).all()
    return above, frozenset(towns)


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
    """Principals by credential, kept until accounts change.

    Every change to a user's roles, home, unit or active flag, and every revoked API key, bumps
    the `users` change counter in the same transaction. An instance compares the counter at most
    every `check_seconds` and forgets every principal when it moved, so a phone that calls once
    every five minutes is still served from memory, and a change reaches every instance within
    `check_seconds`. With `check_seconds` 0 nothing is cached.
    """

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._entries: dict[object, Principal] = {}
        self._generation: int | None = None
        self._checked_at = float("-inf")
        self._lock = Lock()

    def needs_check(self) -> bool:
        return self.check_seconds > 0 and time.monotonic() - self._checked_at >= self.check_seconds

    def refresh(self, generation: int) -> None:
        """Note the stored counter; a different one than last time empties the cache."""
        with self._lock:
            if generation != self._generation:
                self._entries.clear()
                self._generation = generation
            self._checked_at = time.monotonic()

    def get(self, key: object) -> Principal | None:
        if self.check_seconds <= 0:
            return None
        return self._entries.get(key)

    def put(self, key: object, principal: Principal) -> None:
        if self.check_seconds <= 0:
            return
        with self._lock:
            if len(self._entries) > 200_000:
                self._entries.clear()
            self._entries[key] = principal

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


USERS_COUNTER = "users"


def accounts_changed(db: Session) -> None:
    """Tell every instance's principal cache that accounts changed (in the caller's
    transaction)."""
    bump_counter(db=db, name=USERS_COUNTER)


def accounts_generation(db: Session) -> int:
    return read_counter(db=db, name=USERS_COUNTER)


def _org_by_code(db: Session, code: str, field: str) -> OrgUnit:
    org = db.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if org is None and kind_of_code(code) in ("province", "city"):
        above = db.scalar(select(OrgUnit.id).where(OrgUnit.kind.in_(("province", "city"))).limit(1))
        if above is None:
            raise invalid(
                field,
                f"{code} is a {kind_of_code(code)} code, but this deployment stops at the district: "
                "import the province and cities first (docs/org-import.md)",
                f"{code} 是{'省' if kind_of_code(code) == 'province' else '市'}级编码，"
                "但本系统只导入到区一级，无法设置省、市级账号：请先导入省、市区划",
            )
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
    policy: PasswordPolicy | None = None,
) -> User:
    """Add a user with roles, a home org unit and the grids they serve."""
    if password is not None:
        (policy or password_policy()).check(password, username=username, name=name)
    unknown = sorted(set(roles) - set(ROLES))
    if not roles or unknown:
        raise invalid(
            "roles",
            f"unknown or missing roles {unknown}; known: {', '.join(ROLES)}",
            f"角色无效 {unknown}；可选：{'、'.join(ROLES)}",
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
    _assign_grids(db, user, grid_codes, roles)
    return user


def _assign_grids(db: Session, user: User, grid_codes: Sequence[str], roles: Sequence[str]) -> None:
    """Make `grid_codes` the grids the user serves; grids kept keep their duty."""
    current = {
        a.grid_id: a
        for a in db.scalars(select(GridAssignment).where(GridAssignment.user_id == user.id))
    }
    wanted: set[int] = set()
    for code in grid_codes:
        grid = _org_by_code(db, code, "grid_codes")
        if grid.kind != "grid":
            raise invalid("grid_codes", f"{code} is not a grid", f"{code} 不是网格")
        wanted.add(grid.id)
        if grid.id not in current:
            duty = "leader" if "grid_leader" in roles else "full_time"
            assert duty in GRID_DUTIES
            current[grid.id] = GridAssignment(user_id=user.id, grid_id=grid.id, duty=duty)
            db.add(current[grid.id])
    for grid_id, assignment in current.items():
        if grid_id not in wanted:
            db.delete(assignment)
    db.flush()


def user_grids(*, db: Session, user_id: int) -> list[OrgUnit]:
    """The grids a user serves, by code."""
    return list(
        db.scalars(
            select(OrgUnit)
            .join(GridAssignment, GridAssignment.grid_id == OrgUnit.id)
            .where(GridAssignment.user_id == user_id)
            .order_by(OrgUnit.code)
        )
    )


def get_user_in_scope(*, db: Session, principal: Principal, user_id: int) -> tuple[User, OrgUnit]:
    """A user whose home lies in the caller's subtree, with that home."""
    row = db.execute(
        select(User, OrgUnit)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == user_id)
    ).first()
    if row is None:
        raise not_found("user", "该用户")
    principal.require_covers(row[1].path)
    return row[0], row[1]


def edit_user(
    *,
    db: Session,
    principal: Principal,
    user: User,
    changes: dict[str, Any],
    policy: PasswordPolicy | None = None,
) -> User:
    """Change a user's name, phone, password, roles, home, unit, grids or active flag (admins).

    An administrator may not disable themselves or drop their own admin role: the district would
    be left without anyone who can undo it. A new password, or new roles, home, unit or active
    flag, ends every session the user has.
    """
    principal.require_role("admin")
    for key in ("name", "roles", "home_org_code", "is_active", "password"):
        if key in changes and changes[key] is None:
            raise invalid(key, "may not be null", "不能为空")
    if user.id == principal.user_id:
        if changes.get("is_active") is False:
            raise invalid("is_active", "you may not disable yourself", "不能停用自己的账号")
        if "roles" in changes and "admin" not in changes["roles"]:
            raise invalid(
                "roles", "you may not drop your own admin role", "不能取消自己的管理员角色"
            )
    if changes.get("password") is not None:
        (policy or password_policy()).check(
            changes["password"], username=user.username, name=changes.get("name") or user.name
        )
    before = (user.roles, user.home_org_id, user.unit_id, user.is_active)
    if "roles" in changes:
        roles = sorted(set(changes["roles"]))
        unknown = sorted(set(roles) - set(ROLES))
        if not roles or unknown:
            raise invalid(
                "roles",
                f"unknown or missing roles {unknown}; known: {', '.join(ROLES)}",
                f"角色无效 {unknown}；可选：{'、'.join(ROLES)}",
            )
        kept = [r for r in user.role_rows if r.role in roles]
        user.role_rows = kept + [UserRole(role=r) for r in roles if r not in {k.role for k in kept}]
    if "home_org_code" in changes:
        home = _org_by_code(db, changes["home_org_code"], "home_org_code")
        principal.require_covers(home.path)
        user.home_org_id = home.id
    if "unit_code" in changes:
        user.unit_id = None
        if changes["unit_code"]:
            unit = db.scalar(select(Unit).where(Unit.code == changes["unit_code"]))
            if unit is None:
                raise invalid(
                    "unit_code",
                    f"no unit {changes['unit_code']}",
                    f"不存在单位 {changes['unit_code']}",
                )
            user.unit_id = unit.id
    if "grid_codes" in changes:
        _assign_grids(db, user, changes["grid_codes"] or (), user.roles)
    if "password" in changes:
        user.password_hash = hash_password(changes["password"])
    for key in ("name", "phone", "is_active"):
        if key in changes:
            setattr(user, key, changes[key])
    db.flush()
    if "password" in changes or before != (
        user.roles,
        user.home_org_id,
        user.unit_id,
        user.is_active,
    ):
        revoke_user_tokens(db=db, user_id=user.id)
    if changes.keys() & {"roles", "home_org_code", "unit_code", "is_active", "name"}:
        accounts_changed(db)
    db.flush()
    return user


def set_password(
    *, db: Session, username: str, password: str, policy: PasswordPolicy | None = None
) -> User:
    """Give a user a new password (it must pass the policy); their sessions end."""
    user = db.scalar(select(User).where(User.username == username))
    if user is None:
        raise invalid("username", f"no user {username}", f"不存在用户 {username}")
    (policy or password_policy()).check(password, username=user.username, name=user.name)
    user.password_hash = hash_password(password)
    db.flush()
    revoke_user_tokens(db=db, user_id=user.id)
    return user


def change_own_password(*, db: Session, user_id: int, new: str, policy: PasswordPolicy) -> User:
    """A user replaces their password (the view has checked the current one); every session of
    theirs ends, so the view hands the caller a new token."""
    user = db.get(User, user_id)
    if user is None:
        raise invalid("current_password", "account no longer exists", "账号不存在")
    policy.check(new, username=user.username, name=user.name, field="new_password")
    user.password_hash = hash_password(new)
    db.flush()
    revoke_user_tokens(db=db, user_id=user.id)
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
    accounts_changed(db)
    db.flush()


def list_users(
    *,
    db: Session,
    principal: Principal,
    role: str | None = None,
    org_code: str | None = None,
    demo_only: bool = False,
    username: str | None = None,
    text: str | None = None,
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
    if text:
        query = query.where(
            User.username.startswith(text, autoescape=True)
            | User.name.contains(text, autoescape=True)
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = db.execute(query.order_by(User.id).offset(offset).limit(limit)).all()
    return total, list(rows)


def staff_counts(*, db: Session, principal: Principal) -> dict[str, int]:
    """Counts of active users, grid workers and operators whose home is in the caller's scope."""
    scoped_users = (
        select(User.id)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(in_scope(principal, OrgUnit.path), User.is_active.is_(True))
    )
    grid_workers = db.scalar(
        select(func.count(func.distinct(GridAssignment.user_id))).where(
            GridAssignment.user_id.in_(scoped_users)
        )
    )
    users = db.scalar(select(func.count()).select_from(scoped_users.subquery()))
    operators = db.scalar(
        select(func.count()).where(UserRole.role == "operator", UserRole.user_id.in_(scoped_users))
    )
    return {"grid_workers": grid_workers or 0, "users": users or 0, "operators": operators or 0}

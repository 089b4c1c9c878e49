"""Sessions that can be stopped: revoked tokens (logout), per-user cutoffs (password, role or
scope change), and the login lockout per account and per client address.

Everything is stored in the database, so every instance sees a revocation or a lock on its
next request; the token reader asks on every use (one primary-key read).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, delete, exists, literal, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao import fanout
from fengqiao.auth.models import LoginFailure, RevokedToken, TokenCutoff
from fengqiao.auth.security import TokenClaims, TokenError, configure_hash_pool, token_claims
from fengqiao.clock import Clock
from fengqiao.db import Database, utcnow
from fengqiao.errors import Problem
from fengqiao.org.models import ChangeCounter


def _insert(db: Session, table: Any) -> Any:
    """INSERT with ON CONFLICT for this session's dialect."""
    dialect = db.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


# --- revocation -----------------------------------------------------------------------------


def revoke_token(*, db: Session, claims: TokenClaims) -> None:
    """End one token (a logout); rows of tokens that have expired anyway are dropped."""
    expires = datetime.fromtimestamp(claims.expires, UTC)
    if claims.jti:
        db.execute(
            _insert(db, RevokedToken)
            .values(jti=claims.jti, user_id=claims.user_id, expires_at=expires)
            .on_conflict_do_nothing(index_elements=["jti"])
        )
    else:  # a token from before revocable sessions: end every token of the user instead
        revoke_user_tokens(db=db, user_id=claims.user_id)
    db.execute(delete(RevokedToken).where(RevokedToken.expires_at < utcnow()))
    db.flush()
    fanout.notify(db, fanout.user_topic(claims.user_id))  # its live streams check at once


def revoke_user_tokens(*, db: Session, user_id: int) -> None:
    """End every token of the user issued until now (in the caller's transaction)."""
    # Real time, as tokens are stamped with it (their expiry is checked against it too).
    now = time.time()
    db.execute(
        _insert(db, TokenCutoff)
        .values(user_id=user_id, not_before=now)
        .on_conflict_do_update(index_elements=["user_id"], set_={"not_before": now})
    )
    fanout.notify(db, fanout.user_topic(user_id))  # its live streams check at once
    db.flush()


def end_session_token(*, database: Database, token: str, key: str) -> bool:
    """Revoke a browser session's token (the web logout); False when it was not a valid token."""
    try:
        claims = token_claims(token, key=key)
    except TokenError:
        return False
    with database.transaction() as session:
        revoke_token(db=session, claims=claims)
    return True


class RevocationGuard:
    """Asked by the token reader on every use of a token: was it revoked?

    The same read returns the `users` change counter, so the instance's principal cache also
    forgets a changed account at once instead of within `principal_cache_seconds`.
    """

    def __init__(self, database: Database, principals: Any | None = None) -> None:
        self.database = database
        self.principals = principals

    def __call__(self, claims: TokenClaims) -> bool:
        params = {"user_id": claims.user_id, "jti": claims.jti or "-"}
        with self.database.session() as session:
            row = session.connection().execute(_REVOCATION_READ, params).one()
        not_before, is_revoked, users_generation = row[0], row[1], row[2]
        if self.principals is not None:
            self.principals.refresh(users_generation or 0)
        return bool(is_revoked) or (not_before is not None and claims.issued < not_before)


# Built once: every request with a token sends it (SQLAlchemy caches its compiled form).
_REVOCATION_READ = select(
    select(TokenCutoff.not_before)
    .where(TokenCutoff.user_id == bindparam("user_id"))
    .scalar_subquery(),
    exists().where(RevokedToken.jti == bindparam("jti")),
    select(ChangeCounter.value).where(ChangeCounter.name == "users").scalar_subquery(),
    literal(1),
)


# --- lockout --------------------------------------------------------------------------------


def account_key(username: str) -> str:
    return "account:" + username[:120]


def address_key(address: str) -> str:
    return "address:" + address[:120]


@dataclass(frozen=True)
class LockoutPolicy:
    account_failures: int = 10
    address_failures: int = 50
    seconds: int = 900

    def limit(self, key: str) -> int:
        return self.address_failures if key.startswith("address:") else self.account_failures


def login_locked(seconds: float) -> Problem:
    wait = max(1, math.ceil(seconds))
    minutes = max(1, math.ceil(wait / 60))
    return Problem(
        429, "login-locked", "Too many wrong passwords", "密码错误次数过多",
        f"too many wrong passwords for this account or from this address; retry in {wait} s",
        f"该账号或该地址密码错误次数过多，已暂时锁定，请 {minutes} 分钟后再试",
        headers={"Retry-After": str(wait)},
    )  # fmt: skip


class LoginThrottle:
    """Counts wrong passwords per account and per address, and locks a key that reaches its
    limit for `seconds`. Writes go in a transaction of their own: the refused login rolls
    nothing of it back."""

    def __init__(self, database: Database, policy: LockoutPolicy, clock: Clock) -> None:
        self.database = database
        self.policy = policy
        self.clock = clock

    def keys(self, username: str, address: str | None) -> list[str]:
        return [account_key(username)] + ([address_key(address)] if address else [])

    def check(self, keys: list[str]) -> bool:
        """Raise 429 while any key is locked; True when the account has failures to forget."""
        now = self.clock.now()
        with self.database.session() as session:
            rows = session.execute(
                select(LoginFailure.key, LoginFailure.locked_until).where(
                    LoginFailure.key.in_(keys)
                )
            ).all()
        waits = [
            (r.locked_until - now).total_seconds()
            for r in rows
            if r.locked_until and r.locked_until > now
        ]
        if waits:
            raise login_locked(max(waits))
        return any(r.key == keys[0] for r in rows)

    def failed(self, keys: list[str]) -> None:
        now = self.clock.now()
        window = timedelta(seconds=self.policy.seconds)
        with self.database.transaction() as session:
            for key in sorted(keys):  # one order everywhere: no deadlock between two logins
                session.execute(
                    _insert(session, LoginFailure)
                    .values(key=key, failures=0, window_start=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
                row = session.execute(
                    select(LoginFailure).where(LoginFailure.key == key).with_for_update()
                ).scalar_one()
                if row.window_start <= now - window or (
                    row.locked_until and row.locked_until <= now
                ):
                    row.failures, row.window_start, row.locked_until = 0, now, None
                row.failures += 1
                if row.failures >= self.policy.limit(key):
                    row.locked_until = now + window
                    row.failures = 0
            # Forget what has gone stale, so the table holds only current guessing.
            session.execute(
                delete(LoginFailure).where(
                    LoginFailure.window_start < now - window,
                    (LoginFailure.locked_until.is_(None)) | (LoginFailure.locked_until < now),
                )
            )

    def succeeded(self, username: str) -> None:
        """A right password clears the account's count (not the address's: an attacker must
        not reset it by logging in to an account of their own)."""
        with self.database.transaction() as session:
            session.execute(delete(LoginFailure).where(LoginFailure.key == account_key(username)))


def install_sessions(app: Any) -> None:
    """Wire the app's token reader to the revocations, its logins to the lockout, and size the
    process's password-hashing pool (call after the app's state is set)."""
    settings = app.state.settings
    app.state.tokens.revoked = RevocationGuard(app.state.db, app.state.principals)
    app.state.logins = LoginThrottle(
        app.state.db,
        LockoutPolicy(
            account_failures=settings.login_lockout_failures,
            address_failures=settings.login_lockout_address_failures,
            seconds=settings.login_lockout_seconds,
        ),
        app.state.clock,
    )
    # Wrong SMS sign-in codes (auth/sms.py): per number and per address, the same table.
    app.state.sms_logins = LoginThrottle(
        app.state.db,
        LockoutPolicy(
            account_failures=settings.sms_code_failures,
            address_failures=settings.login_lockout_address_failures,
            seconds=settings.sms_code_lock_seconds,
        ),
        app.state.clock,
    )
    configure_hash_pool(
        size=settings.password_hash_concurrency, wait_seconds=settings.password_hash_wait_seconds
    )

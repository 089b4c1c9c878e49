"""People and machines: users with roles, grid assignments, API keys."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from fengqiao.db import Base, UTCDateTime, utcnow

GRID_DUTIES = ("leader", "full_time", "part_time", "instructor")


class User(Base):
    """A person or machine account; its scope is the subtree of its home org unit."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(255))  # where the `email` channel writes
    password_hash: Mapped[str | None] = mapped_column(String(255))
    home_org_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    is_demo: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    role_rows: Mapped[list[UserRole]] = relationship(cascade="all, delete-orphan", lazy="selectin")

    @property
    def roles(self) -> list[str]:
        return sorted(r.role for r in self.role_rows)


class UserRole(Base):
    """One role a user holds."""

    __tablename__ = "user_role"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True, index=True)


class GridAssignment(Base):
    """A grid a worker serves, with the worker's duty there (网格长, 专职, 兼职, 指导员)."""

    __tablename__ = "grid_assignment"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), primary_key=True, index=True)
    duty: Mapped[str] = mapped_column(String(16))


class ApiKey(Base):
    """A machine credential; only its SHA-256 is stored, the key is shown once."""

    __tablename__ = "api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(100))
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RevokedToken(Base):
    """An access token ended before its expiry (logout); kept until it would have expired."""

    __tablename__ = "revoked_token"

    jti: Mapped[str] = mapped_column(String(32), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class TokenCutoff(Base):
    """Every token of the user issued before `not_before` (Unix seconds) is refused: set by a
    password change and by a change of roles, home, unit or active flag."""

    __tablename__ = "token_cutoff"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True
    )
    not_before: Mapped[float] = mapped_column(Float(precision=53))


class LoginFailure(Base):
    """Wrong passwords counted per account (`account:<name>`) or address (`address:<ip>`)
    within a window; `locked_until` refuses every login of that key, right password or not."""

    __tablename__ = "login_failure"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsCode(Base):
    """A one-time sign-in code sent by SMS: only its keyed hash is stored. A code is used once,
    lives until `expires_at`, and dies after a few wrong tries; a new code for a number ends the
    ones before it."""

    __tablename__ = "sms_code"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    wrong_tries: Mapped[int] = mapped_column(Integer, default=0)

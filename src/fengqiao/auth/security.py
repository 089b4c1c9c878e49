"""Credentials: argon2 password hashes behind a bounded pool, signed access tokens that can be
revoked, hashed API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from fengqiao.errors import Problem

_hasher = PasswordHasher()
TOKEN_ALGORITHM = "HS256"
API_KEY_PREFIX = "fqk_"
# A hash of nothing anyone can type: verifying against it costs as much as a real check, so
# "no such user" and "wrong password" take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class HashPool:
    """At most `size` argon2 hashes or verifications at once in this process.

    Each takes argon2's 64 MiB while it runs: forty logins at once took a server from 330 MB to
    1.3 GB. The others wait their turn, up to `wait_seconds`, then are told to retry (503).
    """

    def __init__(self, size: int, wait_seconds: float) -> None:
        self.size = size
        self.wait_seconds = wait_seconds
        self._slots = threading.BoundedSemaphore(size)
        self._lock = threading.Lock()
        self.running = 0
        self.peak = 0  # the most that ran at once: what the memory bound rests on

    @contextmanager
    def slot(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self.wait_seconds):
            raise Problem(
                503, "login-busy", "Too many logins at once, retry", "登录人数过多，请稍后重试",
                f"no password check could start within {self.wait_seconds:g} s",
                "同时登录的人太多，请一秒后重试",
                headers={"Retry-After": "1"},
            )  # fmt: skip
        with self._lock:
            self.running += 1
            self.peak = max(self.peak, self.running)
        try:
            yield
        finally:
            with self._lock:
                self.running -= 1
            self._slots.release()

    def hash(self, password: str) -> str:
        with self.slot():
            return _hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when `password` matches; a missing hash still spends the time of a check."""
        with self.slot():
            try:
                return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(
                    password_hash
                )
            except (VerificationError, InvalidHashError):
                return False


# The process's pool; `configure_hash_pool` sizes it from the settings when an app starts.
hash_pool = HashPool(size=2, wait_seconds=10.0)


def configure_hash_pool(*, size: int, wait_seconds: float) -> HashPool:
    """Replace the process's pool (checks running in the old one finish there)."""
    global hash_pool
    if (hash_pool.size, hash_pool.wait_seconds) != (size, wait_seconds):
        hash_pool = HashPool(size=size, wait_seconds=wait_seconds)
    return hash_pool


def hash_password(password: str) -> str:
    return hash_pool.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the time of a check."""
    return hash_pool.verify(password_hash, password)


def issue_token(*, user_id: int, key: str, minutes: int, now: datetime | None = None) -> str:
    """A signed access token for `user_id` valid for `minutes`."""
    issued = now or datetime.now(UTC)
    claims: dict[str, object] = {
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
        # The issue time to the microsecond: a revocation cuts off every token issued before it,
        # and a login in the same second right after it must survive.
        "ist": round(issued.timestamp(), 6),
        "exp": int((issued + timedelta(minutes=minutes)).timestamp()),
        "typ": "access",
        # Two logins in one second must still differ: the browser's CSRF token derives from it.
        "jti": secrets.token_urlsafe(9),
    }
    return jwt.encode(claims, key, algorithm=TOKEN_ALGORITHM)


class TokenError(Exception):
    """The token is malformed, forged or expired; `expired` tells which."""

    def __init__(self, message: str, *, expired: bool = False) -> None:
        super().__init__(message)
        self.expired = expired


@dataclass(frozen=True)
class TokenClaims:
    """What a valid access token says: whose it is, its id and when it was issued and ends."""

    user_id: int
    expires: int
    jti: str
    issued: float


def read_token(token: str, *, key: str) -> int:
    """The user id a valid access token names (signature and expiry only; see TokenReader)."""
    return _verify(token, key).user_id


def token_claims(token: str, *, key: str) -> TokenClaims:
    return _verify(token, key)


def _verify(token: str, key: str) -> TokenClaims:
    """The claims of a valid access token."""
    try:
        claims = jwt.decode(token, key, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    if claims.get("typ") != "access" or not str(claims.get("sub", "")).isdigit():
        raise TokenError("invalid token: not an access token")
    issued = claims.get("ist", claims.get("iat", 0))
    return TokenClaims(
        user_id=int(claims["sub"]),
        expires=int(claims["exp"]),
        jti=str(claims.get("jti", "")),
        issued=float(issued) if isinstance(issued, int | float) else 0.0,
    )


# Asked on every use of a token: True when it was revoked (see auth.sessions.RevocationGuard).
RevocationCheck = Callable[[TokenClaims], bool]


class TokenReader:
    """`read_token` that remembers tokens it verified until they expire: a client sends the same
    token with every request, and decoding it each time cost a third of a cheap request.

    What it remembers is the signature check only: with a `revoked` check installed (the app
    does), every read asks the database whether the token was revoked since, so a logout or a
    password change on any instance counts at once.
    """

    def __init__(self, key: str, *, size: int = 20_000) -> None:
        self.key = key
        self.size = size
        self._verified: dict[str, TokenClaims] = {}
        self.revoked: RevocationCheck | None = None

    def claims(self, token: str) -> TokenClaims:
        known = self._verified.get(token)
        if known is None:
            known = _verify(token, self.key)
            if len(self._verified) >= self.size:
                self._verified.clear()
            self._verified[token] = known
        if time.time() >= known.expires:
            self._verified.pop(token, None)
            raise TokenError("token expired", expired=True)
        if self.revoked is not None and self.revoked(known):
            raise TokenError("token revoked: logged out, or the account changed")
        return known

    def read(self, token: str) -> int:
        return self.claims(token).user_id


@dataclass(frozen=True)
class NewApiKey:
    """A freshly made key: `key` is shown once; only `prefix` and `key_hash` are stored."""

    key: str
    prefix: str
    key_hash: str


def new_api_key(tag: str = API_KEY_PREFIX) -> NewApiKey:
    """A key `<tag><12 hex lookup prefix>_<256 random bits>`; devices use their own tag."""
    prefix = secrets.token_hex(6)
    key = f"{tag}{prefix}_{secrets.token_urlsafe(32)}"
    return NewApiKey(key=key, prefix=prefix, key_hash=hash_api_key(key))


def hash_api_key(key: str) -> str:
    # API keys carry 256 bits of randomness, so a fast hash is enough (unlike passwords).
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_prefix(key: str, tag: str = API_KEY_PREFIX) -> str | None:
    """The lookup prefix of a well-formed key with this tag, or None."""
    if not key.startswith(tag):
        return None
    prefix, sep, _ = key[len(tag) :].partition("_")
    return prefix if sep and len(prefix) == 12 else None


def api_key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_api_key(key), key_hash)

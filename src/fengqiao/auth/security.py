"""Credentials: argon2 password hashes, signed access tokens, hashed API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
TOKEN_ALGORITHM = "HS256"
API_KEY_PREFIX = "fqk_"
# A hash of nothing anyone can type: verifying against it costs as much as a real check, so
# "no such user" and "wrong password" take the same time.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; a missing hash still spends the time of a check."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


def issue_token(*, user_id: int, key: str, minutes: int, now: datetime | None = None) -> str:
    """A signed access token for `user_id` valid for `minutes`."""
    issued = now or datetime.now(UTC)
    claims = {
        "sub": str(user_id),
        "iat": int(issued.timestamp()),
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


def read_token(token: str, *, key: str) -> int:
    """The user id a valid access token names."""
    return _verify(token, key)[0]


def _verify(token: str, key: str) -> tuple[int, int]:
    """(user id, expiry as a Unix time) of a valid access token."""
    try:
        claims = jwt.decode(token, key, algorithms=[TOKEN_ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError as exc:
        raise TokenError("token expired", expired=True) from exc
    except jwt.PyJWTError as exc:
        raise TokenError(f"invalid token: {exc}") from exc
    if claims.get("typ") != "access" or not str(claims.get("sub", "")).isdigit():
        raise TokenError("invalid token: not an access token")
    return int(claims["sub"]), int(claims["exp"])


class TokenReader:
    """`read_token` that remembers tokens it verified until they expire: a client sends the same
    token with every request, and decoding it each time cost a third of a cheap request."""

    def __init__(self, key: str, *, size: int = 20_000) -> None:
        self.key = key
        self.size = size
        self._verified: dict[str, tuple[int, int]] = {}

    def read(self, token: str) -> int:
        known = self._verified.get(token)
        if known is None:
            known = _verify(token, self.key)
            if len(self._verified) >= self.size:
                self._verified.clear()
            self._verified[token] = known
        user_id, expires = known
        if time.time() >= expires:
            self._verified.pop(token, None)
            raise TokenError("token expired", expired=True)
        return user_id


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

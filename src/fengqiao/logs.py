"""Structured logs (structlog): one JSON object a line, the request id on every line of a request,
credentials redacted; and the request-scoped note of personal data served unmasked.

This module sits at the bottom layer (it imports nothing of Fengqiao) so that the mask functions
in `auth.scope` can note what they served whole and the outbox can read the request id.
"""

from __future__ import annotations

import logging
import logging.config
import re
import secrets
from collections.abc import Iterator, MutableMapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

import structlog

# Query parameters and log fields whose values are credentials: never written to a log.
SECRET_NAMES = frozenset(
    {
        "api_key", "apikey", "key", "token", "access_token", "refresh_token", "id_token",
        "password", "passwd", "pwd", "secret", "client_secret", "code", "otp", "sms_code",
        "signature", "sig", "session", "csrf", "csrf_token", "authorization", "cookie",
        "x-api-key", "x-device-key", "new_password", "old_password",
    }
)  # fmt: skip
REDACTED = "[redacted]"
# An incoming X-Request-ID is kept when it is this tame; anything else is replaced.
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")

request_id_var: ContextVar[str | None] = ContextVar("fengqiao_request_id", default=None)


def new_request_id() -> str:
    """A fresh request id: 32 hex digits."""
    return secrets.token_hex(16)


def accept_request_id(sent: str | None) -> str:
    """The caller's X-Request-ID when it is 8-64 plain characters, else a new one."""
    if sent and _REQUEST_ID.fullmatch(sent):
        return sent
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being served (or the queued work being handled), if any."""
    return request_id_var.get()


@contextmanager
def bound_request(request_id: str | None) -> Iterator[None]:
    """Within the block, log lines carry `request_id` (the worker wraps work a request queued)."""
    token = request_id_var.set(request_id)
    try:
        with structlog.contextvars.bound_contextvars(request_id=request_id):
            yield
    finally:
        request_id_var.reset(token)


def is_secret(name: str) -> bool:
    lowered = name.lower()
    return lowered in SECRET_NAMES or lowered.endswith(("_token", "_password", "_secret", "_key"))


def redact_query(query: str) -> str:
    """A query string with the values of credential parameters replaced by [redacted]."""
    if not query:
        return ""
    parts = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        shown = REDACTED if is_secret(name) else value
        parts.append(f"{quote(name, safe='')}={quote(shown, safe='[]')}")
    return "&".join(parts)


def _redact_fields(_logger: Any, _name: str, event: MutableMapping[str, Any]) -> Any:
    for name in list(event):
        if is_secret(name):
            event[name] = REDACTED
    return event


# --- personal data served unmasked (DESIGN §13) ------------------------------------------------


@dataclass
class UnmaskedAccess:
    """What one request served whole: per subject table, the row ids and the fields."""

    user_id: int | None = None
    username: str = ""
    subjects: dict[str, tuple[set[int], set[str]]] = field(default_factory=dict)

    def note(self, user_id: int, username: str, table: str, subject_id: int, fields: tuple[str, ...]) -> None:  # fmt: skip
        self.user_id, self.username = user_id, username
        ids, names = self.subjects.setdefault(table, (set(), set()))
        ids.add(subject_id)
        names.update(fields)


# A mutable note set by the request's middleware: threads the request runs in (run_in_threadpool
# copies the context) add to the same object, so the middleware sees what they noted.
unmasked_var: ContextVar[UnmaskedAccess | None] = ContextVar("fengqiao_unmasked", default=None)


def note_unmasked(
    *, user_id: int, username: str, table: str, subject_id: int, fields: tuple[str, ...]
) -> None:
    """Record that the caller was served `fields` of row `subject_id` of `table` unmasked."""
    access = unmasked_var.get()
    if access is not None:
        access.note(user_id, username, table, subject_id, fields)


# --- configuration -------------------------------------------------------------------------------

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True, key="at"),
    _redact_fields,
]
_configured = False

# structlog hands every line to the standard library (so pytest's caplog and any handler see it);
# `configure` picks the handler and the rendering.
structlog.configure(
    processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def formatter(fmt: str = "json") -> logging.Formatter:
    """The formatter of every handler: structlog's rendering of stdlib and structlog records."""
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=False)
        if fmt == "console"
        else structlog.processors.JSONRenderer(ensure_ascii=False)
    )
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[*_SHARED, structlog.stdlib.ExtraAdder()],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            renderer,
        ],
    )


def dict_config(*, fmt: str = "json", level: str = "info") -> dict[str, Any]:
    """A `logging.config.dictConfig` that sends every line of the process (uvicorn's included)
    to stderr through `formatter`; uvicorn applies it in each of its worker processes too.
    uvicorn's own access log stays off: it prints raw query strings (ours redacts them)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"fengqiao": {"()": "fengqiao.logs.formatter", "fmt": fmt}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "fengqiao",
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            "uvicorn.access": {"handlers": [], "propagate": False, "level": "CRITICAL"},
        },
    }


def configure(*, fmt: str = "json", level: str = "info") -> None:
    """Apply `dict_config` to this process (the worker; `serve` hands it to uvicorn)."""
    global _configured
    logging.config.dictConfig(dict_config(fmt=fmt, level=level))
    _configured = True


def configured() -> bool:
    return _configured


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)

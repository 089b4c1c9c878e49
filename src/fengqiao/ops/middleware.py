"""The request middleware: a request id on every log line and in the `X-Request-ID` header, the
access log line (query credentials redacted, no headers, no cookies), latency and error metrics
by route template, open streams, and the personal-data access log.

The access row is written when the response starts, before any of its body leaves: a response
that served personal data whole is not sent unless its view was logged (a 503 instead).
"""

from __future__ import annotations

import re
import time
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from fengqiao import metrics
from fengqiao.db import Database
from fengqiao.errors import PROBLEM_MEDIA_TYPE, Problem
from fengqiao.logs import (
    UnmaskedAccess,
    accept_request_id,
    bound_request,
    get_logger,
    redact_query,
    unmasked_var,
)
from fengqiao.ops import access

log = get_logger("fengqiao.access")
REQUEST_ID_HEADER = "X-Request-ID"
_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::[^}]*)?\}")


def route_of(scope: Scope) -> str:
    """The route template (`/api/v1/events/{event_id}`), never the raw path: bounded labels."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(template, str) or not template:
        return "/static/{path}" if scope.get("path", "").startswith("/static/") else "<unmatched>"
    # An included router's route knows only its own part (`/events/{event_id}`); the prefix
    # (`/api/v1`) is what the real path has before the route's part, rendered with its values.
    params = scope.get("path_params", {})
    rendered = _PARAM.sub(lambda m: str(params.get(m.group(1), m.group(0))), template)
    path = scope.get("root_path", "") + scope.get("path", "")
    if rendered and path.endswith(rendered):
        return path[: len(path) - len(rendered)] + template
    return template


class OpsMiddleware:
    """See the module docstring; one instance wraps the whole app."""

    def __init__(self, app: ASGIApp, *, state: Any) -> None:
        self.app = app
        self.state = state  # the FastAPI app's state: db and clock are read per request

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        sent = _header(scope, b"x-request-id")
        request_id = accept_request_id(sent)
        unmasked = UnmaskedAccess()
        token = unmasked_var.set(unmasked)
        started = time.perf_counter()
        status = 500
        stream_route: str | None = None
        swallow = False

        async def send_wrapper(message: Message) -> None:
            nonlocal status, stream_route, swallow
            if swallow:
                return
            if message["type"] == "http.response.start":
                status = message["status"]
                if unmasked.subjects and not await self._log_access(unmasked, scope, request_id):
                    swallow = True
                    status = 503
                    await _send_refusal(send, request_id)
                    return
                headers = MutableHeaders(scope=message)
                headers[REQUEST_ID_HEADER] = request_id
                if headers.get("content-type", "").startswith("text/event-stream"):
                    stream_route = route_of(scope)
                    metrics.OPEN_STREAMS.labels(stream_route).inc()
            await send(message)

        with bound_request(request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            except Exception:
                status = 500
                log.exception("unhandled error")
                raise
            finally:
                unmasked_var.reset(token)
                if stream_route is not None:
                    metrics.OPEN_STREAMS.labels(stream_route).dec()
                self._observe(scope, status, time.perf_counter() - started)

    def _observe(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_of(scope)
        method = scope.get("method", "")
        metrics.HTTP_DURATION.labels(method, route, str(status)).observe(seconds)
        if status >= 500:
            metrics.HTTP_ERRORS.labels(method, route, str(status)).inc()
        client = scope.get("client")
        log.info(
            "request",
            method=method,
            route=route,
            path=scope.get("path", ""),
            query=redact_query(scope.get("query_string", b"").decode("latin-1")),
            status=status,
            ms=round(seconds * 1000, 1),
            client=client[0] if client else None,
        )

    async def _log_access(self, unmasked: UnmaskedAccess, scope: Scope, request_id: str) -> bool:
        """Write the access rows; False when they could not be written."""
        database: Database = self.state.db
        at = self.state.clock.now()
        method, route = scope.get("method", ""), route_of(scope)

        def write() -> int:
            with database.transaction() as session:
                return access.record(
                    session, unmasked, at=at, request_id=request_id, method=method, route=route
                )

        try:
            await database.run_write(write)
        except Exception:
            log.exception("personal-data access log not written; response withheld")
            return False
        for table in unmasked.subjects:
            metrics.PERSONAL_DATA_VIEWS.labels(table).inc()
        return True


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


async def _send_refusal(send: Send, request_id: str) -> None:
    problem = Problem(
        503, "access-log-unavailable", "Service unavailable", "系统繁忙",
        "personal data is only served once its view is logged, and the log could not be "
        "written; try again",
        "个人信息的查看记录未能写入，本次未返回数据，请稍后重试",
        headers={"Retry-After": "1"},
    )  # fmt: skip
    body = orjson.dumps(problem.body())
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", PROBLEM_MEDIA_TYPE.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"retry-after", b"1"),
                (REQUEST_ID_HEADER.lower().encode(), request_id.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})

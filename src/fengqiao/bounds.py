"""Bounded input: a body-size limit per route class enforced before any parser reads the body,
and the base classes of request models (every string bounded, explicit nulls refused by name).

The limit is a pure ASGI middleware: a declared `Content-Length` over the limit is answered 413
at once without reading a byte; a chunked body is counted as it streams and refused the moment
it passes the limit, so no JSON, form or multipart parser ever holds more than the limit.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator
from pydantic_core import PydanticCustomError
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.config import Settings
from fengqiao.errors import Problem, problem_response, refusal_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# The largest id an integer key holds (PostgreSQL `integer`, 32-bit): a larger number in a
# query cannot name anything, and PostgreSQL refuses to compare the column with it.
ID_MAX = 2**31 - 1
# Every request string is at most this long unless its field says less (a report's
# description is 4,000 characters; nothing a person types is longer).
STR_MAX = 4000
# Multipart framing around the photos: boundaries, part headers and the report's own fields.
MULTIPART_OVERHEAD = 1024 * 1024


# Strings of bounded length, for list items and dict keys (a field says its own max_length).
Text16 = Annotated[str, StringConstraints(max_length=16)]
Code = Annotated[str, StringConstraints(max_length=32)]  # class, question, org and unit codes
Text100 = Annotated[str, StringConstraints(max_length=100)]
Text200 = Annotated[str, StringConstraints(max_length=200)]
# Answers to a class's extra questions, by question code: a text, or the keys chosen from a list.
Answers = Annotated[
    dict[
        Code,
        Annotated[str, StringConstraints(max_length=2000)]
        | Annotated[list[Code], Field(max_length=50)],
    ],
    Field(max_length=50),
]


class BodyBounded:
    """Marks a field whose size only the body limit of its route class bounds (a whole file an
    administrator imports, checked item by item by its importer)."""

    def __repr__(self) -> str:
        return "BodyBounded()"


BODY_BOUNDED = BodyBounded()


class RequestModel(BaseModel):
    """Base of request bodies: unknown fields refused, every string at most `STR_MAX` (fields,
    list items and dict keys alike); lists and dicts still say their own `max_length`."""

    model_config = ConfigDict(extra="forbid", str_max_length=STR_MAX)


class PatchModel(RequestModel):
    """A partial update: a field left out keeps its value. An explicit null is refused by name
    unless the field is listed in `clearable` (where null means "clear it" or "any")."""

    clearable: ClassVar[frozenset[str]] = frozenset()

    @field_validator("*", mode="before")
    @classmethod
    def _no_explicit_null(cls, value: Any, info: Any) -> Any:
        if value is None and info.field_name not in cls.clearable:
            raise PydanticCustomError(
                "null_not_allowed", "may not be null: leave the field out to keep its value"
            )
        return value


# --- the body-size limit ------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteClass:
    """A kind of route with its own body limit; `paths` match the whole path."""

    name: str
    name_zh: str
    limit: int
    paths: re.Pattern[str] | None = None
    content_types: tuple[str, ...] = ()

    def matches(self, path: str, content_type: str) -> bool:
        if self.paths is not None and not self.paths.fullmatch(path):
            return False
        return not self.content_types or content_type.startswith(self.content_types)


_WANTED = (b"content-length", b"content-type")

# Routes whose bodies are files an administrator imports or bulk pushes from a platform.
IMPORT_PATHS = re.compile(
    r"/api/v1/(org/import|cameras/import|cameras/status|services/items/import)"
)
# Routes that take photos in a multipart form (a report, evidence of a step).
PHOTO_PATHS = re.compile(
    r"/api/v1/(events(/\d+/attachments)?|notices/\d+/images|tasks/[A-Z0-9]+/photos)|/open311/v2/requests\.(json|xml)"
)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def route_classes(settings: Settings) -> list[RouteClass]:
    """The classes in the order tried; the first match decides, the last one matches all."""
    return [
        RouteClass(
            "IoT alarm",
            "物联网告警",
            # Up to 4× the payload limit is read so the alarm can be quarantined with its reason.
            settings.iot_payload_max_bytes * 4,
            re.compile(r"/api/v1/iot/alarms"),
        ),
        RouteClass("import", "批量导入", settings.import_max_bytes, IMPORT_PATHS),
        RouteClass(
            "photo upload",
            "照片上传",
            settings.photo_max_bytes * settings.photos_per_event + MULTIPART_OVERHEAD,
            PHOTO_PATHS,
            ("multipart/form-data",),
        ),
        RouteClass("form", "表单", settings.form_max_bytes, None, FORM_TYPES),
        RouteClass("JSON API", "接口", settings.json_max_bytes),
    ]


def _size(limit: int) -> tuple[str, str]:
    if limit % (1024 * 1024) == 0:
        return f"{limit // (1024 * 1024)} MiB", f"{limit // (1024 * 1024)} 兆字节"
    if limit % 1024 == 0:
        return f"{limit // 1024} KiB", f"{limit // 1024} 千字节"
    return f"{limit} bytes", f"{limit} 字节"


def too_large(route_class: RouteClass) -> Problem:
    """The 413 naming the limit of the route's class."""
    size, size_zh = _size(route_class.limit)
    return Problem(
        413,
        "too-large",
        "Request body too large",
        "请求内容过大",
        f"a {route_class.name} request carries at most {size} ({route_class.limit} bytes); "
        "nothing was read or stored",
        f"{route_class.name_zh}请求最多 {size_zh}（{route_class.limit} 字节），本次未读取也未保存",
        headers={"Connection": "close"},
        extra={"limit": route_class.limit, "route_class": route_class.name},
    )


def bad_length() -> Problem:
    return Problem(
        400,
        "bad-request",
        "Bad request",
        "请求格式有误",
        "Content-Length is not a whole number of bytes",
        "请求头中的内容长度不是整数",
        headers={"Connection": "close"},
    )


class BodyTooLarge(StarletteHTTPException):
    """Raised by the counting `receive` when a streamed body passes its class's limit; FastAPI
    lets HTTP exceptions from body parsing through, and the handler answers the problem."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.status, problem.detail, problem.headers)
        self.problem = problem


class BodyLimit:
    """ASGI middleware: refuse a body over its route class's limit before anything reads it."""

    def __init__(self, app: ASGIApp, classes: list[RouteClass]) -> None:
        self.app = app
        self.classes = classes

    def route_class(self, path: str, content_type: str) -> RouteClass:
        return next(c for c in self.classes if c.matches(path, content_type))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.lower(): v for k, v in scope.get("headers", ()) if k.lower() in _WANTED}
        content_type = headers.get(b"content-type", b"").decode("latin-1").lower().strip()
        route_class = self.route_class(scope.get("path", ""), content_type)
        declared = headers.get(b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await refusal_response(scope, bad_length())(scope, receive, send)
                return
            if int(declared) > route_class.limit:
                await refusal_response(scope, too_large(route_class))(scope, receive, send)
                return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:  # a parser that swallowed the first refusal gets no more bytes
                raise BodyTooLarge(too_large(route_class))
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > route_class.limit:
                    exceeded = True
                    raise BodyTooLarge(too_large(route_class))
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                if exceeded and not started:
                    # Whatever the app made of the cut-off body, the answer is the 413.
                    started = True
                    await refusal_response(scope, too_large(route_class))(scope, receive, send)
                    return
                started = True
            elif exceeded and message["type"] == "http.response.body":
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except BodyTooLarge:
            if not started:
                await refusal_response(scope, too_large(route_class))(scope, receive, send)


async def _on_too_large(_request: Any, exc: Exception) -> Any:
    assert isinstance(exc, BodyTooLarge)
    return problem_response(exc.problem)


def install_bounds(app: Any) -> None:
    """Put the body limit around `app`'s whole middleware stack (its settings are
    `app.state.settings`): outermost whatever other middleware is added later, so nothing,
    not even a middleware, reads a body the limit refuses."""
    classes = route_classes(app.state.settings)
    app.add_exception_handler(BodyTooLarge, _on_too_large)
    build = app.build_middleware_stack

    def build_with_limit() -> ASGIApp:
        return BodyLimit(build(), classes)

    app.build_middleware_stack = build_with_limit

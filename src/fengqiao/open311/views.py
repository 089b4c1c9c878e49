"""Open311 GeoReport v2 at /open311/v2/: public, JSON or XML by the path's suffix, errors in the
spec's shape (every refusal counted by reason); the operators' refusal counts under /api/v1."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Header, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.auth.requests import principal_of_api_key
from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database, DatabaseBusy
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, add_refusal_renderer, database_busy, from_pydantic
from fengqiao.geo.deps import Locator
from fengqiao.open311 import parsing, render, service
from fengqiao.open311.parsing import Open311Error, refuse
from fengqiao.open311.schemas import (
    Discovery,
    Open311Stats,
    PostedRequest,
    Service,
    ServiceDefinition,
    ServiceRequest,
    SpecError,
    TokenRequest,
)
from fengqiao.taxonomy.deps import app_rules
from fengqiao.taxonomy.snapshot import Rules

PREFIX = "/open311/v2"
log = logging.getLogger(__name__)

Format = Annotated[Literal["json", "xml"], "json or xml, the path's suffix"]


def _hidden(rules: Rules, settings: Settings) -> frozenset[str]:
    """The classes this surface never shows (setting `open311_hidden_majors`)."""
    return service.hidden_codes(rules, settings.open311_hidden_majors)


def _format_of(request: Request) -> render.Format:
    return "xml" if request.url.path.endswith(".xml") else "json"


def spec_error_response(request: Request, error: Open311Error) -> Response:
    fmt = _format_of(request)
    return Response(
        render.errors_body(fmt, error.code, error.description),
        status_code=error.code,
        media_type=render.MEDIA_TYPES[fmt],
        headers={"Retry-After": "1"} if error.code == 503 else None,
    )


def as_spec_error(exc: Exception) -> Open311Error | None:
    """Any refusal raised under /open311/v2 as the spec's error (None: not a refusal)."""
    if isinstance(exc, Open311Error):
        return exc
    if isinstance(exc, Problem):
        return parsing.from_problem(exc)
    if isinstance(exc, RequestValidationError):
        errors = list(exc.errors())
        if any(tuple(e.get("loc", ()))[-1:] == ("format",) for e in errors):
            return refuse(
                404, "not_found", "unknown format: end the path with .json or .xml",
                "不支持的格式：路径须以 .json 或 .xml 结尾",
            )  # fmt: skip
        return parsing.from_problem(from_pydantic(errors))
    if isinstance(exc, DatabaseBusy):
        return parsing.from_problem(database_busy())
    if isinstance(exc, StarletteHTTPException):
        code = 404 if exc.status_code in (404, 405) else exc.status_code
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        return Open311Error(code, "not_found" if code == 404 else "bad_request", detail)
    return None


async def count(database: Database, clock: Clock, reason: str) -> None:
    """Count one refusal in its own short transaction; a failure to count is logged, never
    turned into the caller's error."""
    now = clock.now()

    def write() -> None:
        with database.transaction() as db:
            service.count_refusal(db=db, reason=reason, now=now)

    try:
        await database.run_write(write)
    except Exception:  # counting must not change the answer
        log.exception("could not count an Open311 refusal (%s)", reason)


class Open311Route(APIRoute):
    """A route whose every refusal (ours, the event center's, FastAPI's validation) is the
    spec's `[{code, description}]` or `<errors>` in the path's format, and is counted."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                error = as_spec_error(exc)
                if error is None:
                    raise
                if error.reason:
                    state = request.app.state
                    await count(state.db, state.clock, error.reason)
                return spec_error_response(request, error)

        return handle


router = APIRouter(prefix=PREFIX, tags=["open311"], route_class=Open311Route)
# The operators' counts sit with the authenticated API (api.py adds the caller dependency).
admin = APIRouter(tags=["open311"])


def _reply(fmt: render.Format, root: str, value: Any, status_code: int = 200) -> Response:
    return Response(
        render.body(fmt, root, value), status_code=status_code, media_type=render.MEDIA_TYPES[fmt]
    )


def _responses(model: Any, *codes: int) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI responses: the JSON model, its XML twin, and the spec's errors."""
    described: dict[int | str, dict[str, Any]] = {
        200: {"model": model, "content": {"text/xml": {"schema": {"type": "string"}}}}
    }
    for code in codes:
        described[code] = {
            "model": list[SpecError],
            "description": {400: "Bad request", 403: "Invalid api_key", 404: "Not found"}[code],
            "content": {"text/xml": {"schema": {"type": "string"}}},
        }
    return described


@router.get(
    "/discovery.{format}",
    response_class=Response,
    responses=_responses(Discovery, 404),
    summary="Discovery: where the endpoint is and which formats it speaks",
)
def get_discovery(format: Format, settings: AppSettings, database: AppDatabase) -> Response:
    with database.session() as db:
        changeset = service.changeset(db=db)
    return _reply(
        format,
        "discovery",
        service.discovery(base_url=settings.public_base_url, changeset=changeset),
    )


@router.get(
    "/services.{format}",
    response_class=Response,
    responses=_responses(list[Service], 400, 404),
    summary="Every active minor class as a service, grouped by major class",
)
def get_services(
    request: Request,
    format: Format,
    database: AppDatabase,
    settings: AppSettings,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    with database.session() as db:
        rules = app_rules(request, db)
        services = service.list_services(db=db, rules=rules, hidden=_hidden(rules, settings))
    return _reply(format, "services", services)


@router.get(
    "/services/{service_code}.{format}",
    response_class=Response,
    responses=_responses(ServiceDefinition, 400, 404),
    summary="A service's definition: its extra questions as attributes",
)
def get_service_definition(
    request: Request,
    service_code: str,
    format: Format,
    database: AppDatabase,
    settings: AppSettings,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    with database.session() as db:
        rules = app_rules(request, db)
        definition = service.service_definition(
            rules=rules, service_code=service_code, hidden=_hidden(rules, settings)
        )
    return _reply(format, "service_definition", definition)


# The bodies a POST may have (the spec's form; multipart is read the same way, without files).
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})
_POST_BODY: dict[str, Any] = {
    "required": True,
    "content": {
        "application/x-www-form-urlencoded": {
            "schema": {
                "type": "object",
                "required": ["api_key", "service_code", "lat", "long"],
                "properties": {
                    "api_key": {"type": "string"},
                    "jurisdiction_id": {"type": "string"},
                    "service_code": {"type": "string"},
                    "lat": {"type": "number"},
                    "long": {"type": "number"},
                    "address_string": {"type": "string"},
                    "address_id": {"type": "string"},
                    "email": {"type": "string"},
                    "device_id": {"type": "string"},
                    "account_id": {"type": "string"},
                    "first_name": {"type": "string"},
                    "last_name": {"type": "string"},
                    "phone": {"type": "string"},
                    "description": {"type": "string", "maxLength": 4000},
                    "media_url": {"type": "string"},
                },
                "additionalProperties": {"type": "string"},
                "description": "GeoReport v2 fields; extra questions as attribute[CODE]=value "
                "(repeat it for a multivaluelist).",
            }
        }
    },
}


@router.post(
    "/requests.{format}",
    response_class=Response,
    responses=_responses(list[PostedRequest], 400, 403, 404),
    summary="File a request (form-encoded, with api_key); it becomes an event at once",
    openapi_extra={"requestBody": _POST_BODY},
)
async def post_request(
    request: Request,
    format: Format,
    locator: Locator,
    settings: AppSettings,
    clock: AppClock,
    database: AppDatabase,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=128, description="Retries with the same key return the first request."),
    ] = None,
) -> Response:
    """The api_key's account files the event (source `open311`); the point resolves to its
    grid. The reply carries the service_request_id and a token (both work at once)."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media not in FORM_TYPES:
        # A JSON body or fields in the query string would otherwise read as an empty form
        # and be answered "api_key is required", which sends the integrator the wrong way.
        raise refuse(
            400, "bad_request",
            f"the body must be application/x-www-form-urlencoded (or multipart/form-data), not "
            f"{media or 'empty'}; send api_key, service_code, lat, long… as form fields",
            f"请求体须为 application/x-www-form-urlencoded（或 multipart/form-data），而非 "
            f"{media or '空'};api_key、service_code、lat、long 等以表单字段提交",
        )  # fmt: skip
    form = await request.form(max_files=0)
    items = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            raise refuse(
                400, "bad_request", "upload the photo elsewhere and send its media_url",
                "不接收文件上传，请提供照片网址 media_url",
            )  # fmt: skip
        items.append((name, value))
    # The key first: a caller without a valid one learns nothing about the rest of its form.
    # The spec puts it in the body; the query string is accepted too (once, in one place).
    keys = [value.strip() for name, value in items if name == "api_key"]
    keys += [value.strip() for value in request.query_params.getlist("api_key")]
    if len(keys) > 1:
        raise refuse(
            400, "bad_request", "api_key is given more than once; send it once",
            "字段 api_key 重复，只能提交一次",
        )  # fmt: skip
    api_key = keys[0] if keys else ""
    if keys and not any(name == "api_key" for name, _ in items):
        items.append(("api_key", api_key))
    if not api_key:
        raise refuse(403, "invalid_api_key", "api_key is required", "缺少 api_key")
    principal = await principal_of_api_key(request.app.state, api_key)
    if principal is None:
        raise refuse(403, "invalid_api_key", "invalid api_key", "api_key 无效")
    submission = parsing.read_submission(items)
    place = locator.locate(submission.lng, submission.lat)
    now = clock.now()

    def write() -> dict[str, Any]:
        with database.transaction() as db:
            rules = app_rules(request, db)
            event, token = service.submit(
                db=db, rules=rules, place=place, principal=principal,
                submission=submission, hidden=_hidden(rules, settings), now=now,
                idempotency_key=idempotency_key,
                duplicate_radius_m=settings.duplicate_radius_m,
                duplicate_days=settings.duplicate_days,
            )  # fmt: skip
            return {
                "service_request_id": event.code,
                "token": token,
                "service_notice": service.service_notice(event.due_at),
                "account_id": None,
            }

    posted = await database.run_write(write)
    return _reply(format, "service_requests", [posted])


@router.get(
    "/requests.{format}",
    response_class=Response,
    responses=_responses(list[ServiceRequest], 400, 404),
    summary="Requests filed through Open311, newest first (the spec's filters and caps)",
)
def get_requests(
    request: Request,
    format: Format,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
    service_request_id: Annotated[
        str | None, Query(description="Comma-separated; overrides the other filters.")
    ] = None,
    service_code: Annotated[str | None, Query(description="Comma-separated.")] = None,
    start_date: Annotated[
        str | None, Query(description="ISO-8601; default end_date - 90 days.")
    ] = None,
    end_date: Annotated[
        str | None,
        Query(description="ISO-8601; default start_date + 90 days, or now without start_date."),
    ] = None,
    status: Annotated[str | None, Query(description="open, closed or both.")] = None,
    page: Annotated[str | None, Query(description="Extension: page number from 1.")] = None,
    page_size: Annotated[str | None, Query(description="Extension: 1-1000 (default).")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    query = parsing.parse_query(
        service_request_id=service_request_id, service_code=service_code, status=status,
        start_date=start_date, end_date=end_date, page=page, page_size=page_size, now=clock.now(),
    )  # fmt: skip
    with database.session() as db:
        rules = app_rules(request, db)
        rows = service.list_requests(
            db=db, rules=rules, query=query, hidden=_hidden(rules, settings)
        )
    return _reply(format, "service_requests", rows)


@router.get(
    "/requests/{service_request_id}.{format}",
    response_class=Response,
    responses=_responses(list[ServiceRequest], 400, 404),
    summary="One request by its service_request_id",
)
def get_request(
    request: Request,
    service_request_id: str,
    format: Format,
    database: AppDatabase,
    settings: AppSettings,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    with database.session() as db:
        rules = app_rules(request, db)
        row = service.get_request(
            db=db, rules=rules, service_request_id=service_request_id,
            hidden=_hidden(rules, settings),
        )  # fmt: skip
    return _reply(format, "service_requests", [row])


@router.get(
    "/tokens/{token}.{format}",
    response_class=Response,
    responses=_responses(list[TokenRequest], 400, 404),
    summary="The service_request_id of a token",
)
def get_token(
    request: Request,
    token: str,
    format: Format,
    database: AppDatabase,
    settings: AppSettings,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    with database.session() as db:
        hidden = _hidden(app_rules(request, db), settings)
        found = service.request_of_token(db=db, token=token, hidden=hidden)
    return _reply(format, "service_requests", [found])


def door_refusal(request: Request, problem: Problem) -> Response:
    """A refusal made before the route runs (body too large, rate limit) in the spec's shape,
    with its Retry-After; a body too large is counted (a rate-limited flood writes nothing)."""
    error = parsing.from_problem(problem)
    response = spec_error_response(request, error)
    response.headers.update(problem.headers or {})
    if problem.status != 429:
        state = request.app.state
        response.background = BackgroundTask(count, state.db, state.clock, error.reason)
    return response


def install(app: FastAPI) -> None:
    """The Open311 surface's own OpenAPI description (for clients and fuzzers), and spec-shaped
    404s for any other path under /open311/v2/ and for refusals made before any route runs."""
    add_refusal_renderer(app, f"{PREFIX}/", door_refusal)
    described: dict[str, Any] = {}

    @app.get(f"{PREFIX}/openapi.json", include_in_schema=False)
    def open311_openapi() -> dict[str, Any]:
        if not described:
            whole = app.openapi()
            described.update(
                whole,
                info={
                    **whole["info"],
                    "title": "Fengqiao 枫桥 Open311 GeoReport v2",
                    "description": "GeoReport v2 (http://wiki.open311.org/GeoReport_v2).",
                },
            )
            described["paths"] = {
                path: item for path, item in whole["paths"].items() if path.startswith(PREFIX + "/")
            }
        return described

    @app.api_route(
        PREFIX + "/{rest:path}",
        methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
        include_in_schema=False,
    )
    async def open311_not_found(request: Request) -> Response:
        error = refuse(
            404, "not_found", f"no Open311 resource {request.method} {request.url.path}",
            f"不存在的 Open311 接口 {request.method} {request.url.path}",
        )  # fmt: skip
        await count(request.app.state.db, request.app.state.clock, error.reason)
        return spec_error_response(request, error)


@admin.get("/open311/stats", response_model=Open311Stats, summary="Open311 refusals by reason")
def open311_stats(
    principal: CurrentPrincipal,
    database: AppDatabase,
    clock: AppClock,
    days: Annotated[int, Query(ge=1, le=366, description="Local days back, today included.")] = 30,
) -> Open311Stats:
    """How many Open311 calls were refused, by reason and by day, and how many requests were
    filed; admin and operator, within their area (refusals name no place: the district's staff
    only)."""
    principal.require_role("admin", "operator")
    with database.session() as db:
        stats = service.refusal_stats(db=db, now=clock.now(), days=days, principal=principal)
    return Open311Stats.model_validate(stats)

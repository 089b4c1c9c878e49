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
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException as StarletteHTTPException

from fengqiao.auth.requests import principal_of_api_key
from fengqiao.auth.security import api_key_prefix
from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database, DatabaseBusy
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, add_refusal_renderer, database_busy, from_pydantic
from fengqiao.events import filing
from fengqiao.events.photos import PhotoInfo, PhotoStore
from fengqiao.geo.deps import Locator
from fengqiao.open311 import cors, geocode, parsing, render, service, updates
from fengqiao.open311.parsing import Open311Error, refuse
from fengqiao.open311.schemas import (
    Discovery,
    Open311Stats,
    PostedRequest,
    RequestUpdate,
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
                "required": ["service_code"],
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
                    "media_url": {"type": "string", "description": "Repeat it for several."},
                },
                "additionalProperties": {"type": "string"},
                "description": "GeoReport v2 fields; extra questions as attribute[CODE]=value "
                "(repeat it for a multivaluelist); lat/long, or address_string or address_id; "
                "multipart/form-data may carry photos as files (any field name). The key is "
                "best sent as the X-Api-Key header.",
            }
        }
    },
}


ApiKeyHeader = Annotated[
    str | None,
    Header(
        alias="x-api-key",
        max_length=200,
        description="The API key (preferred to api_key in the body or query string, which "
        "proxies may log).",
    ),
]


def _check_jurisdiction(settings: Settings, given: str | None) -> None:
    """A jurisdiction_id other than the configured one is refused (none given is fine)."""
    wanted = settings.open311_jurisdiction_id
    if wanted and given and given.strip() != wanted:
        raise refuse(
            400, "bad_jurisdiction",
            f"jurisdiction_id {given[:64]!r} is not served here; this endpoint serves {wanted!r}",
            f"jurisdiction_id {given[:64]} 不属于本辖区；本接口服务于 {wanted}",
        )  # fmt: skip


async def _key_prefix(request: Request, header_key: str | None) -> str | None:
    """The prefix of a valid key sent with a read (header or query), so the request's filing
    client gets its own account_id back; None without a valid key."""
    key = (header_key or request.query_params.get("api_key") or "").strip()
    if not key or await principal_of_api_key(request.app.state, key) is None:
        return None
    return api_key_prefix(key)


def _extensions(value: str | None) -> bool:
    if value in (None, "", "false"):
        return False
    if value == "true":
        return True
    raise refuse(
        400, "bad_request", "extensions must be true or false", "extensions 须为 true 或 false"
    )


async def _read_form(
    request: Request, settings: Settings
) -> tuple[list[tuple[str, str]], list[UploadFile]]:
    """The form's fields and its files (photos), each refused in both languages when it is
    not what Open311 takes."""
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
    most = settings.photos_per_event
    try:
        form = await request.form(max_files=most, max_fields=1000)
    except StarletteHTTPException as exc:  # Starlette's English "Maximum number of files …"
        raise refuse(
            400, "bad_media",
            f"the form could not be read ({exc.detail}); send at most {most} photos and "
            "1,000 fields",
            f"无法读取表单：最多上传 {most} 张照片、1000 个字段",
        ) from None  # fmt: skip
    items: list[tuple[str, str]] = []
    files: list[UploadFile] = []
    for name, value in form.multi_items():
        if isinstance(value, UploadFile):
            files.append(value)
        else:
            items.append((name, value))
    return items, files


async def _save_photos(request: Request, files: list[UploadFile]) -> list[PhotoInfo]:
    """Check and store uploaded photos as staff photos are (events.photos: content, size,
    pixels); the first refused one is the spec's 400 naming the file."""
    store: PhotoStore = request.app.state.photos
    saved = []
    for index, upload in enumerate(files):
        data = await upload.read(store.limits.max_bytes + 1)
        saved.append(await run_in_threadpool(store.save, data, field=f"media[{index}]"))
    return saved


@router.post(
    "/requests.{format}",
    response_class=Response,
    responses=_responses(list[PostedRequest], 400, 403, 404),
    summary="File a request (form or multipart with photos, with a key); it becomes an event",
    openapi_extra={"requestBody": _POST_BODY},
)
async def post_request(
    request: Request,
    format: Format,
    locator: Locator,
    settings: AppSettings,
    clock: AppClock,
    database: AppDatabase,
    x_api_key: ApiKeyHeader = None,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=128, description="Retries with the same key return the first request."),
    ] = None,
) -> Response:
    """The api_key's account files the event (source `open311`); the point (or the address,
    geocoded) resolves to its grid. The reply carries the service_request_id and a token."""
    items, files = await _read_form(request, settings)
    # The key first: a caller without a valid one learns nothing about the rest of its form.
    # A header is preferred; the body (the spec) and the query string are read too, once.
    keys = [value.strip() for name, value in items if name == "api_key"]
    keys += [value.strip() for value in request.query_params.getlist("api_key")]
    keys += [x_api_key.strip()] if x_api_key else []
    if len(keys) > 1:
        raise refuse(
            400, "bad_request", "api_key is given more than once; send it once",
            "字段 api_key 重复，只能提交一次",
        )  # fmt: skip
    api_key = keys[0] if keys else ""
    items = [(name, value) for name, value in items if name != "api_key"]
    items.append(("api_key", api_key))
    # Some clients (the `open311` package) send jurisdiction_id in the query string.
    if not any(name == "jurisdiction_id" for name, _ in items):
        items += [("jurisdiction_id", v) for v in request.query_params.getlist("jurisdiction_id")]
    if not api_key:
        raise refuse(403, "invalid_api_key", "api_key is required", "缺少 api_key")
    principal = await principal_of_api_key(request.app.state, api_key)
    if principal is None:
        raise refuse(403, "invalid_api_key", "invalid api_key", "api_key 无效")
    submission = parsing.read_submission(items)
    _check_jurisdiction(settings, submission.get("jurisdiction_id"))
    hidden_of: dict[str, frozenset[str]] = {}

    def place_and_check() -> geocode.Located:
        # Everything that needs no write, before any photo is stored.
        with database.session() as db:
            rules = app_rules(request, db)
            hidden = hidden_of.setdefault("codes", _hidden(rules, settings))
            if submission.service_code in hidden:
                raise service.unknown_service(submission.service_code)
            located = geocode.locate(
                db=db, locator=locator, submission=submission, principal=principal
            )
            try:
                filing.check_filing(
                    rules, principal, service.event_data(submission, rules, located.place)
                )
            except Problem as problem:
                raise parsing.from_problem(problem) from None
            return located

    located = await run_in_threadpool(place_and_check)
    photos = await _save_photos(request, files)
    now = clock.now()

    def write() -> dict[str, Any]:
        with database.transaction() as db:
            rules = app_rules(request, db)
            event, public_id, token = service.submit(
                db=db, rules=rules, place=located.place, principal=principal,
                submission=submission, hidden=_hidden(rules, settings), now=now,
                idempotency_key=idempotency_key,
                duplicate_radius_m=settings.duplicate_radius_m,
                duplicate_days=settings.duplicate_days, photos=photos,
                located_by=located.located_by,
            )  # fmt: skip
            return {
                "service_request_id": public_id,
                "token": token,
                "service_notice": service.service_notice(event.due_at),
                "account_id": submission.get("account_id"),
                "address_id": submission.get("address_id"),
            }

    posted = await database.run_write(write)
    return _reply(format, "service_requests", [posted])


@router.get(
    "/requests.{format}",
    response_class=Response,
    responses=_responses(list[ServiceRequest], 400, 404),
    summary="Requests filed through Open311, newest first (the spec's filters and caps)",
)
async def get_requests(
    request: Request,
    format: Format,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
    x_api_key: ApiKeyHeader = None,
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
    extensions: Annotated[
        str | None, Query(description="true: each request's public timeline.")
    ] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    parsing.refuse_repeated(request.query_params.multi_items())
    _check_jurisdiction(settings, jurisdiction_id)
    query = parsing.parse_query(
        service_request_id=service_request_id, service_code=service_code, status=status,
        start_date=start_date, end_date=end_date, page=page, page_size=page_size, now=clock.now(),
    )  # fmt: skip
    extended = _extensions(extensions)
    key_prefix = await _key_prefix(request, x_api_key)

    def read() -> list[dict[str, Any]]:
        with database.session() as db:
            rules = app_rules(request, db)
            return service.list_requests(
                db=db, rules=rules, query=query, hidden=_hidden(rules, settings),
                key_prefix=key_prefix, extensions=extended,
            )  # fmt: skip

    return _reply(format, "service_requests", await run_in_threadpool(read))


@router.get(
    "/requests/{service_request_id}.{format}",
    response_class=Response,
    responses=_responses(list[ServiceRequest], 400, 404),
    summary="One request by its service_request_id",
)
async def get_request(
    request: Request,
    service_request_id: str,
    format: Format,
    database: AppDatabase,
    settings: AppSettings,
    x_api_key: ApiKeyHeader = None,
    extensions: Annotated[
        str | None, Query(description="true: the request's public timeline.")
    ] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    parsing.refuse_repeated(request.query_params.multi_items())
    _check_jurisdiction(settings, jurisdiction_id)
    extended = _extensions(extensions)
    key_prefix = await _key_prefix(request, x_api_key)

    def read() -> dict[str, Any]:
        with database.session() as db:
            rules = app_rules(request, db)
            return service.get_request(
                db=db, rules=rules, service_request_id=service_request_id,
                hidden=_hidden(rules, settings), key_prefix=key_prefix, extensions=extended,
            )  # fmt: skip

    return _reply(format, "service_requests", [await run_in_threadpool(read)])


@router.get(
    "/servicerequestupdates.{format}",
    response_class=Response,
    responses=_responses(list[RequestUpdate], 400, 404),
    summary="Public updates of requests in a window (the mySociety extension FixMyStreet polls)",
)
def get_updates(
    request: Request,
    format: Format,
    database: AppDatabase,
    clock: AppClock,
    settings: AppSettings,
    start_date: Annotated[
        str | None, Query(description="ISO-8601; default end_date - 1 day.")
    ] = None,
    end_date: Annotated[str | None, Query(description="ISO-8601; default now.")] = None,
    page: Annotated[str | None, Query(description="Page number from 1.")] = None,
    page_size: Annotated[str | None, Query(description="1-5000 (default).")] = None,
    jurisdiction_id: Annotated[str | None, Query(max_length=64)] = None,
    api_key: Annotated[
        str | None,
        Query(max_length=200, description="Accepted and not needed: updates are public."),
    ] = None,
) -> Response:
    """Each public step of a request (events.public) made in the window, oldest first: the
    extended status (FIXED, DUPLICATE, NOT_RESPONSIBLE, …) in `status`, the step's key in
    `external_status_code`; a merged request names the one it joined. At most 7 days."""
    parsing.refuse_repeated(request.query_params.multi_items())
    _check_jurisdiction(settings, jurisdiction_id)
    query = parsing.parse_update_query(
        start_date=start_date, end_date=end_date, page=page, page_size=page_size, now=clock.now()
    )
    state = request.app.state
    secret = getattr(state, "open311_update_secret", None)
    if secret is None:
        secret = state.open311_update_secret = settings.resolved_secret_key().encode()
    with database.session() as db:
        rules = app_rules(request, db)
        rows = updates.list_updates(
            db=db, rules=rules, secret=secret, start=query.start, end=query.end,
            hidden=_hidden(rules, settings), page=query.page, page_size=query.page_size,
        )  # fmt: skip
    return _reply(format, "service_requests_updates", rows)


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
    cors.install(app, PREFIX)
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

"""`/metrics` (loopback or a bearer token, never public) and the personal-data access log's API
route (administrators only); `install` puts the middleware and both routes on the app."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from fengqiao import metrics
from fengqiao.deps import CurrentPrincipal, DbSession, current_principal
from fengqiao.errors import forbidden, unauthorized
from fengqiao.ops import access
from fengqiao.ops.middleware import OpsMiddleware

LOOPBACK = frozenset({"127.0.0.1", "::1"})
_PROXY_HEADERS = ("x-forwarded-for", "forwarded", "x-real-ip")

router = APIRouter(prefix="/api/v1/ops", tags=["ops"], dependencies=[Depends(current_principal)])
scrape = APIRouter()


@scrape.get("/metrics", include_in_schema=False)
async def read_metrics(request: Request) -> Response:
    """Prometheus text format: with FENGQIAO_METRICS_TOKEN set, for `Authorization: Bearer
    <token>` from anywhere; without it, only for direct requests from the loopback address."""
    state = request.app.state
    token: str = state.settings.metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise unauthorized(
                "/metrics needs the bearer token of FENGQIAO_METRICS_TOKEN",
                "读取监控指标需要正确的令牌",
            )
    else:
        host = request.client.host if request.client else ""
        if host not in LOOPBACK or any(h in request.headers for h in _PROXY_HEADERS):
            raise forbidden(
                "/metrics answers only the loopback address unless FENGQIAO_METRICS_TOKEN is set",
                "监控指标仅对本机开放；如需远程读取，请配置令牌",
            )
    body = await run_in_threadpool(metrics.exposition, state.db, state.clock.now)
    return Response(body, media_type=metrics.CONTENT_TYPE)


class AccessOut(BaseModel):
    """One request that served personal data whole."""

    id: int
    at: datetime
    user_id: int
    username: str
    request_id: str
    method: str
    route: str
    subject_table: str = Field(description="user_account, event, proxy_request, ...")
    subject_ids: list[int]
    fields: list[str]


class AccessPage(BaseModel):
    items: list[AccessOut]
    next_before_id: int | None = Field(description="Pass as before_id for the next (older) page.")


@router.get("/personal-data-access", response_model=AccessPage)
def personal_data_access(
    principal: CurrentPrincipal,
    db: DbSession,
    username: Annotated[str | None, Query(max_length=64, description="Who viewed.")] = None,
    table: Annotated[str | None, Query(max_length=32, description="Subject table.")] = None,
    subject_id: Annotated[int | None, Query(ge=1, le=2**62, description="Subject row.")] = None,
    since: Annotated[datetime | None, Query(description="From this time (ISO 8601).")] = None,
    until: Annotated[datetime | None, Query(description="Before this time.")] = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    size: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AccessPage:
    """Who was served phones or ID numbers unmasked, newest first (administrators only)."""
    principal.require_role("admin")
    rows = access.read(
        db, access.AccessFilter(
            username=username, subject_table=table, subject_id=subject_id, since=since,
            until=until, before_id=before_id, limit=size,
        ),
    )  # fmt: skip
    items = [out(row) for row in rows]
    return AccessPage(items=items, next_before_id=items[-1].id if len(items) == size else None)


def out(row: access.PersonalDataAccess) -> AccessOut:
    return AccessOut(
        id=row.id, at=row.at, user_id=row.user_id, username=row.username,
        request_id=row.request_id, method=row.method, route=row.route,
        subject_table=row.subject_table,
        subject_ids=[int(i) for i in row.subject_ids.strip(",").split(",") if i],
        fields=[f for f in row.fields.split(",") if f],
    )  # fmt: skip


def install(app: FastAPI) -> None:
    """The middleware (request id, access log, metrics, personal-data log) and the routes."""
    app.add_middleware(OpsMiddleware, state=app.state)
    app.include_router(scrape)
    app.include_router(router)

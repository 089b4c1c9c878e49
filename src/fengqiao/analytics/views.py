"""The 18 charts over HTTP: the list, each chart as JSON or CSV, and the rollups' state."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from fastapi.responses import Response

from fengqiao.analytics import charts
from fengqiao.analytics.rollups import row_counts
from fengqiao.analytics.service import (
    ANALYSIS_ROLES,
    history_start,
    parse_range,
    resolve_scope,
    today,
)
from fengqiao.deps import AppClock, AppDatabase, AppReadDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import invalid, not_found
from fengqiao.exports import csv_download

router = APIRouter(prefix="/analytics", tags=["analysis"])

ScopeParam = Annotated[
    int | None,
    Query(description="Org unit id of the area (district, town, village, grid); default: yours."),
]
FromParam = Annotated[
    str | None,
    Query(alias="from", description="First local day, YYYY-MM-DD (default: 29 days before `to`)."),
]
ToParam = Annotated[str | None, Query(description="Last local day, YYYY-MM-DD (default: today).")]


@router.get("/charts", summary="The 18 charts of analysis")
def list_charts(principal: CurrentPrincipal) -> list[dict[str, Any]]:
    """Number, name, Chinese title and whether the chart has a time axis (同比/环比)."""
    principal.require_role(*ANALYSIS_ROLES)
    return [
        {
            "number": c.number,
            "name": c.name,
            "title": c.title,
            "time_axis": c.time_axis,
            "url": f"/api/v1/analytics/charts/{c.name}",
        }
        for c in charts.CHARTS
    ]


@router.get(
    "/charts/{name}",
    summary="One chart's series for a scope and range (JSON, or CSV with format=csv)",
    response_class=Response,
    responses={200: {"content": {"application/json": {}, "text/csv": {}}}},
)
def chart(
    name: str,
    principal: CurrentPrincipal,
    database: AppReadDatabase,
    settings: AppSettings,
    clock: AppClock,
    scope: ScopeParam = None,
    start: FromParam = None,
    to: ToParam = None,
    format: Annotated[str, Query(description="json or csv")] = "json",
) -> Response:
    """The series an ECharts option needs (`x`, `series`, chart-specific extras), `effective`
    (the days actually summed: grid, village, worker and hour-of-week figures of a district or
    town cover whole months), `headlines` of the charts with 同比/环比 (a rate chart's is a
    rate, changing in percentage points; 无可比数据 below FENGQIAO_ANALYTICS_MIN_BASE) and
    `table` (the CSV, days written with their year)."""
    found = charts.CHART_BY_NAME.get(name)
    if found is None:
        raise not_found(f"chart {name!r}", f"图表 {name}")
    if format not in ("json", "csv"):
        raise invalid("format", "use json or csv", "格式须为 json 或 csv")
    principal.require_role(*ANALYSIS_ROLES)
    first, last = parse_range(start, to, today=today(clock.now()))
    with database.session() as db:
        area = resolve_scope(db, principal=principal, org_id=scope)
        body = charts.draw(
            found, db=db, scope=area, start=first, end=last, today=today(clock.now()),
            min_base=settings.analytics_min_base, history_start=history_start(db, area),
        )  # fmt: skip
    if format == "json":
        return Response(orjson.dumps(body), media_type="application/json")
    filename = f"{name}-{area.org_id}-{first.isoformat()}-{last.isoformat()}.csv"
    return csv_download(body["table"]["columns"], body["table"]["rows"], filename=filename)


@router.get("/rollups", summary="Rows of each rollup table")
def rollups(principal: CurrentPrincipal, database: AppDatabase) -> dict[str, int]:
    """How big each rollup is (administrators; the same as `fengqiao analytics status`)."""
    principal.require_role("admin")
    with database.session() as db:
        return row_counts(db.connection())

"""The public map's data, no sign-in: `GET /api/v1/public/reports` (GeoJSON, cached, gzip and
ETag like the command room's event layer) and `GET /api/v1/public/reports/meta` (the classes and
statuses to filter by, the district's box). Rate-limited as every `/api/v1/public/` route is."""

from __future__ import annotations

import re
import time
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy import func, select

from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.deps import AppClock, AppDatabase, AppSettings
from fengqiao.errors import invalid
from fengqiao.events.public import PUBLIC_STATUS_KEYS_ZH
from fengqiao.events.queries import read_change_mark
from fengqiao.open311.service import hidden_codes
from fengqiao.org.models import OrgUnit
from fengqiao.publicmap import service
from fengqiao.readcache import ReadCache, make_answer, respond
from fengqiao.taxonomy.deps import app_rules

router = APIRouter(prefix="/public", tags=["public map"])

_CODE = re.compile(r"^[0-9A-Za-z_-]{1,16}$")
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not modified: the ETag sent in If-None-Match still holds."}
}


def _list(value: str | None, name: str, name_zh: str) -> tuple[str, ...]:
    parts = tuple(sorted({p.strip() for p in (value or "").split(",") if p.strip()}))
    if len(parts) > service.MAX_CODES:
        raise invalid(
            name, f"at most {service.MAX_CODES} values", f"最多 {service.MAX_CODES} 个{name_zh}"
        )
    return parts


def parse_query(
    *, days: int, category: str | None, status: str | None, bbox: str | None, zoom: int
) -> service.MapQuery:
    """The query string checked into a MapQuery; a bad part is a 422 naming it."""
    categories = _list(category, "category", "分类")
    for code in categories:
        if not _CODE.match(code):
            raise invalid("category", f"not a class code: {code[:16]!r}", "分类编码格式不正确")
    statuses = _list(status, "status", "状态")
    for key in statuses:
        if key not in PUBLIC_STATUS_KEYS_ZH:
            words = "、".join(PUBLIC_STATUS_KEYS_ZH)
            raise invalid("status", f"unknown status {key[:32]!r}; one of {words}", "没有这种状态")
    box: tuple[float, float, float, float] | None = None
    if bbox:
        box = _bbox(bbox)
    return service.MapQuery(
        days=days, categories=categories, statuses=statuses, bbox=box, zoom=zoom
    )


def _bbox(text: str) -> tuple[float, float, float, float]:
    parts = text.split(",")
    try:
        if len(parts) != 4:
            raise ValueError
        west, south, east, north = (float(p) for p in parts)
    except ValueError:
        raise invalid(
            "bbox", "four numbers: west,south,east,north", "地图范围应为四个数（西、南、东、北）"
        ) from None
    if not (-180 <= west < east <= 180 and -90 <= south < north <= 90):
        raise invalid("bbox", "west < east and south < north, within the globe", "地图范围不正确")
    if east - west > service.MAX_BBOX_DEGREES or north - south > service.MAX_BBOX_DEGREES:
        raise invalid(
            "bbox", f"at most {service.MAX_BBOX_DEGREES} degrees a side", "地图范围过大，请放大地图"
        )
    return west, south, east, north


@router.get(
    "/reports",
    summary="Recent reports of public classes as GeoJSON (points rounded to ~50 m, no personal data)",
    responses=NOT_MODIFIED,
)
async def public_reports(
    request: Request,
    database: AppDatabase,
    settings: AppSettings,
    clock: AppClock,
    days: Annotated[
        int, Query(ge=1, le=service.MAX_DAYS, description="Reports of the last `days` days.")
    ] = service.DEFAULT_DAYS,
    category: Annotated[
        str | None,
        Query(max_length=400, description="Comma-separated class codes (minor or major), ≤ 20."),
    ] = None,
    status: Annotated[
        str | None,
        Query(max_length=200, description="Comma-separated public statuses, e.g. `fixed`."),
    ] = None,
    bbox: Annotated[
        str | None,
        Query(max_length=120, description="`west,south,east,north`, at most 2 degrees a side."),
    ] = None,
    zoom: Annotated[
        int, Query(ge=0, le=20, description="The map's zoom: the clusters' cell size.")
    ] = service.DEFAULT_ZOOM,
) -> Response:
    """No sign-in. A FeatureCollection with `total` (reports matched) and `clustered`. A report:
    `ref`, `status` (a public status key), `category`, `category_name`, `date` (local),
    `text` (trimmed, digit runs masked), `place` (village or community). A cluster: `cluster`,
    `count` and `statuses` (counts by public status). Cached while no event changes."""
    query = parse_query(days=days, category=category, status=status, bbox=bbox, zoom=zoom)
    cache: ReadCache = request.app.state.read_cache
    mark = await cache.mark("events", partial(read_change_mark, database))
    now = clock.now()
    key = query.key()
    answer = cache.peek(key, mark, now)
    if answer is None:
        ref_key = service.ref_key(request.app.state.signing_key)

        def make() -> Any:
            with database.session() as db:
                rules = app_rules(request, db)
                hidden = hidden_codes(rules, settings.open311_hidden_majors)
                value = service.public_reports(
                    db, rules, query, hidden=hidden, now=now, ref_key=ref_key
                )
            return make_answer(
                value, orjson.dumps(value), media_type="application/geo+json", made_at=now,
                mark=mark,
            )  # fmt: skip

        answer = await run_in_threadpool(cache.get_or_make, key, mark, now, make)
    return respond(request, answer)


# The meta changes only when classes or town boundaries do: kept per app for a few minutes, so
# opening the page never waits for the towns' outlines to be simplified again.
META_SECONDS = 300.0


def map_meta(request: Request, database: Database, settings: Settings) -> dict[str, Any]:
    """What the public map filters by and where it opens (the meta route and the page's own
    embedded copy, so the page draws without waiting for it)."""
    kept: tuple[float, dict[str, Any]] | None = getattr(request.app.state, "public_map_meta", None)
    if kept is not None and time.monotonic() - kept[0] < META_SECONDS:
        return kept[1]
    meta = _read_meta(request, database, settings)
    request.app.state.public_map_meta = (time.monotonic(), meta)
    return meta


def _read_meta(request: Request, database: Database, settings: Settings) -> dict[str, Any]:
    with database.session() as db:
        rules = app_rules(request, db)
        hidden = hidden_codes(rules, settings.open311_hidden_majors)
        # Every district's box together (one district's in a district-only database).
        district = db.execute(
            select(
                func.min(OrgUnit.min_lng), func.min(OrgUnit.min_lat),
                func.max(OrgUnit.max_lng), func.max(OrgUnit.max_lat),
            ).where(OrgUnit.kind == "district")
        ).first()  # fmt: skip
        areas = service.town_outlines(db)
    bounds = list(district) if district is not None and None not in district else None
    return {
        "classes": service.visible_classes(rules, hidden),
        "statuses": list(PUBLIC_STATUS_KEYS_ZH),
        "bounds": bounds,
        "areas": areas,
        "days": service.DEFAULT_DAYS,
        "max_days": service.MAX_DAYS,
    }


@router.get("/reports/meta", summary="What the public map filters by, and the districts' box")
def public_reports_meta(
    request: Request, database: AppDatabase, settings: AppSettings
) -> dict[str, Any]:
    """No sign-in. `classes` (the visible active classes, with their major class), `statuses`
    (public status keys in order; their words are the `publicStatus` labels), `bounds`
    ([west, south, east, north] around every district, or null), `areas` (the towns' outlines and
    names, simplified, as GeoJSON), `days` and `max_days`."""
    return map_meta(request, database, settings)

"""The one search box (GET /search), the phone's reverse lookup (GET /search/reverse) and the
places' CSV import (POST /places/import)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.concurrency import run_in_threadpool

from fengqiao.cameras.importer import decode_csv
from fengqiao.cameras.models import CAMERA_STATUS_ZH
from fengqiao.deps import CurrentPrincipal, DbSession, ReadDbSession, WriteSession
from fengqiao.errors import forbidden, invalid
from fengqiao.events.workflow import STATUS_ZH
from fengqiao.geo.deps import Locator
from fengqiao.org.models import ORG_LEVEL_ZH, area_word
from fengqiao.org.service import UNIT_CATEGORY_ZH
from fengqiao.scope import Principal
from fengqiao.search import service
from fengqiao.search.places import import_places
from fengqiao.search.reverse import reverse
from fengqiao.search.schemas import (
    FoundOut,
    NearOut,
    PlaceImportOut,
    PlaceRowErrorOut,
    ReverseOut,
    SearchGroupOut,
    SearchOut,
)

router = APIRouter(tags=["search"])

# The words of each kind's `sub`, sent with the suggestion (the scripts keep no copy of them).
SUB_ZH: dict[str, dict[str, str]] = {
    "area": ORG_LEVEL_ZH, "place": service.PLACE_KIND_ZH, "unit": UNIT_CATEGORY_ZH,
    "camera": CAMERA_STATUS_ZH, "event": STATUS_ZH,
}  # fmt: skip

MAX_IMPORT_BYTES = 5 * 1024 * 1024


def _require_staff(principal: Principal) -> None:
    if not principal.is_staff():
        raise forbidden("search is for staff", "搜索仅供工作人员使用")


@router.get("/search", response_model=SearchOut)
def search(
    principal: CurrentPrincipal,
    db: ReadDbSession,
    q: Annotated[str | None, Query(description="1 to 64 characters; spaces split terms.")] = None,
    kind: Annotated[
        str | None, Query(max_length=64, description="Only these kinds, comma-separated.")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=service.MAX_PER_KIND, description="Per kind.")] = (
        service.PER_KIND
    ),
) -> SearchOut:
    """Areas (province to grid), places, units, cameras and events matching `q`, grouped by
    kind and ranked; cameras and events only within the caller's scope. Staff only."""
    _require_staff(principal)
    kinds = tuple(service.KINDS)
    if kind:
        kinds = tuple(k.strip() for k in kind.split(",") if k.strip())
        unknown = [k for k in kinds if k not in service.KINDS]
        if unknown:
            raise invalid(
                "kind",
                f"unknown kind; use {', '.join(service.KINDS)}",
                f"未知类别；可选：{'、'.join(service.KIND_ZH.values())}",
            )
    query, groups = service.search(db=db, principal=principal, q=q, kinds=kinds, per_kind=limit)
    return SearchOut(
        q=query.text,
        mode=query.mode,
        groups=[
            SearchGroupOut(
                kind=k,
                label=service.KIND_ZH[k],
                items=[
                    FoundOut(
                        kind=f.kind,
                        sub=f.sub,
                        sub_label=area_word(f.sub, f.name)
                        if f.kind == "area"
                        else SUB_ZH[f.kind].get(f.sub, ""),
                        id=f.id,
                        name=f.name,
                        detail=f.detail,
                        code=f.code,
                        lat=f.lat,
                        lng=f.lng,
                        bbox=list(f.bbox) if f.bbox else None,
                    )
                    for f in found
                ],
            )
            for k, found in groups.items()
        ],
    )


@router.get("/search/reverse", response_model=ReverseOut)
async def search_reverse(
    principal: CurrentPrincipal,
    db: DbSession,
    locator: Locator,
    lat: Annotated[float, Query(description="Latitude (WGS-84 unless crs says otherwise).")],
    lng: Annotated[float, Query(description="Longitude.")],
    crs: Annotated[str, Query(max_length=16, description="wgs84, cgcs2000, gcj02 or bd09.")] = (
        "wgs84"
    ),
) -> ReverseOut:
    """The words for a point: its town, village and grid and the nearest named place, e.g.
    「柯桥街道 寿堰社区 第1网格 · 近 柯桥中学」; a point outside the district is a 422. Staff,
    and residents placing a 随手拍 (a nearby event named is only ever one of their own)."""
    if not principal.has_any("resident"):
        _require_staff(principal)
    place = locator.locate(lng, lat, crs.lower())
    words, near = await run_in_threadpool(reverse, db, place=place, principal=principal)
    return ReverseOut(
        text=words, lat=place.lat, lng=place.lng, town=place.town_name,
        village=place.village_name, grid=place.grid_name, grid_id=place.grid_id,
        grid_code=place.grid_code, near=NearOut(**asdict(near)) if near else None,
    )  # fmt: skip


@router.post("/places/import", response_model=PlaceImportOut)
async def import_places_route(
    request: Request,
    principal: CurrentPrincipal,
    db: WriteSession,
    locator: Locator,
    dry_run: Annotated[bool, Query(description="Check and report, write nothing.")] = False,
) -> PlaceImportOut:
    """Import places (POIs) from CSV (administrators): columns kind, name, address, lng, lat
    and optionally crs (Chinese headers accepted); the body is the file (`text/csv`)."""
    principal.require_role("admin")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES:
        raise invalid("file", "at most 5 MiB", "文件不能超过 5 MiB", status=413)
    data = await request.body()
    if len(data) > MAX_IMPORT_BYTES:
        raise invalid("file", "at most 5 MiB", "文件不能超过 5 MiB", status=413)
    text = decode_csv(data)

    def run() -> PlaceImportOut:
        report = import_places(
            db=db, text=text, locator=locator, kinds=service.PLACE_KIND_ZH, dry_run=dry_run
        )
        if dry_run:
            db.rollback()
        else:
            db.commit()
        return PlaceImportOut(
            dry_run=report.dry_run, rows=report.rows, created=report.created,
            updated=report.updated, refused=report.refused,
            errors=[PlaceRowErrorOut(**asdict(e)) for e in report.errors],
        )  # fmt: skip

    return await run_in_threadpool(run)

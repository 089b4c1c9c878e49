"""The base map: its setting (administrators write it), the tile layers the map offers, and the
local vector base of roads and rivers in the caller's area."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from fengqiao.basemap import service
from fengqiao.basemap.schemas import BasemapIn, BasemapOut
from fengqiao.deps import CurrentPrincipal, DbSession, WriteSession
from fengqiao.geo.service import org_path
from fengqiao.geo.views import GEOJSON
from fengqiao.scope import STAFF_ROLES

router = APIRouter(tags=["map"])


def _out(basemap: service.Basemap) -> BasemapOut:
    return BasemapOut(
        provider=basemap.provider,
        url_template=basemap.url_template,
        has_key=bool(basemap.api_key),
        key_hint=service.key_hint(basemap.api_key),
        attribution=basemap.attribution,
        max_zoom=basemap.max_zoom,
        subdomains=basemap.subdomains,
        source=basemap.source,
        updated_at=basemap.updated_at,
    )


@router.get("/basemap", response_model=BasemapOut, summary="The base map setting")
def get_basemap(request: Request, principal: CurrentPrincipal, db: DbSession) -> BasemapOut:
    """The setting in force, for 系统管理 · 底图; a Tianditu key shows only its last four
    characters. Administrators only."""
    principal.require_role("admin")
    return _out(service.current(db=db, settings=request.app.state.settings))


@router.put("/basemap", response_model=BasemapOut, summary="Set the base map")
def put_basemap(
    body: BasemapIn, request: Request, principal: CurrentPrincipal, db: WriteSession
) -> BasemapOut:
    """Store the base map: 天地图 (a key), an XYZ template, a GCJ-02 XYZ template (Amap,
    Tencent) or only the local base. A template without `{z}`, `{x}` and `{y}` or not on http(s)
    is refused. The page's img-src follows at once. Administrators only."""
    principal.require_role("admin")
    saved = service.save(
        db=db, settings=request.app.state.settings, values=body.model_dump(),
        user_id=principal.user_id, now=request.app.state.clock.now(),
    )  # fmt: skip
    db.commit()
    request.app.state.basemap.invalidate()
    return _out(saved)


@router.get("/basemap/layers", summary="The base layers the map offers")
def basemap_layers(request: Request, principal: CurrentPrincipal, db: DbSession) -> dict[str, Any]:
    """The switcher's tile layers (URLs with the key in them, as the browser must fetch them)
    and where the local base is read. Staff and residents."""
    principal.require_role(*STAFF_ROLES, "resident")  # residents place their 随手拍 on it
    basemap = service.current(db=db, settings=request.app.state.settings)
    layers = service.base_layers(basemap)
    return {
        "bases": [layer.as_dict() for layer in layers],
        "default": layers[0].id if layers else "local",
        "local": "/api/v1/basemap/features",
    }


@router.get(
    "/basemap/features",
    response_class=Response,
    summary="The local vector base",
    responses={200: {"content": {"application/geo+json": {}}}},
)
def basemap_features(
    request: Request,
    principal: CurrentPrincipal,
    db: DbSession,
    org: Annotated[str | None, Query(description="Org code; default: your whole area.")] = None,
) -> Response:
    """Roads, rivers and lakes meeting the box of the caller's area (or of org unit `org` in
    it): a FeatureCollection with `kind` (road, river, lake), `name` and `rank` (1 labelled from
    zoom 12, 2 from zoom 14), gzip-compressed when accepted. Built once per area and kept
    FENGQIAO_BASEMAP_CHECK_SECONDS; its ETag answers If-None-Match with a 304. Staff and
    residents."""
    principal.require_role(*STAFF_ROLES, "resident")  # residents place their 随手拍 on it
    path = org_path(db, principal, org)

    def build() -> dict[str, Any]:
        box = service.area_box(db=db, path=path)
        rows = service.features_in(db=db, box=box) if box is not None else []
        return {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": r.id,
                    "geometry": r.geometry,
                    "properties": {"kind": r.kind, "name": r.name, "rank": r.rank},
                }
                for r in rows
            ],
        }

    body = request.app.state.base_features.get(path, build)
    headers = {"ETag": body.etag, "Cache-Control": "private, max-age=60", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == body.etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(body.zipped, media_type=GEOJSON, headers=headers)
    return Response(body.raw, media_type=GEOJSON, headers=headers)

"""Point-to-grid lookup, the grids layer and the point layers (POIs, cameras, IoT devices) as
GeoJSON. The cameras nearest to a point are the camera registry's (cameras/views.py)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from fengqiao.deps import CurrentPrincipal, DbSession, ReadDbSession
from fengqiao.errors import Problem, invalid
from fengqiao.geo import service
from fengqiao.geo.deps import Locator
from fengqiao.geo.models import LAYER_KINDS
from fengqiao.geo.schemas import PlaceOut, PlaceRef
from fengqiao.org.models import OrgUnit
from fengqiao.scope import STAFF_ROLES

router = APIRouter(tags=["map"])

GEOJSON = "application/geo+json"
# Smaller bodies are sent as they are: compressing them costs more than it saves.
GZIP_MIN_BYTES = 1024


def geojson_response(
    request: Request, body: dict[str, Any], *, filename: str | None = None
) -> Response:
    """GeoJSON, gzip-compressed when the client accepts it and it is worth it."""
    raw = orjson.dumps(body)
    headers = {"Cache-Control": "private, no-cache", "Vary": "Accept-Encoding"}
    if filename is not None:
        headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    if len(raw) >= GZIP_MIN_BYTES and "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        raw = gzip.compress(raw, compresslevel=5)
    return Response(raw, media_type=GEOJSON, headers=headers)


@router.get("/grids/locate", response_model=PlaceOut)
async def locate(
    locator: Locator,
    lat: Annotated[float, Query(description="Latitude (allow_inf_nan off: NaN is refused).")],
    lng: Annotated[float, Query(description="Longitude.")],
    crs: Annotated[str, Query(description="wgs84 (default), cgcs2000, gcj02 or bd09.")] = "wgs84",
) -> PlaceOut:
    """The grid, village and town a point lies in; a point outside the district is a 422.

    Any authenticated caller (the router requires one): devices and residents locate too.
    """
    place = locator.locate(lng, lat, crs.lower())
    return PlaceOut(
        lng=place.lng,
        lat=place.lat,
        crs=crs.lower(),
        grid=PlaceRef(id=place.grid_id, code=place.grid_code, name=place.grid_name),
        village=PlaceRef(id=place.village_id, code=place.village_code, name=place.village_name),
        town=PlaceRef(id=place.town_id, code=place.town_code, name=place.town_name),
    )


def _grid_features(db: Any, path: str) -> dict[str, Any]:
    rows = db.execute(
        select(
            OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.grid_type, OrgUnit.households,
            OrgUnit.population, OrgUnit.geometry,
        )
        .where(
            OrgUnit.kind == "grid",
            OrgUnit.valid_to.is_(None),
            OrgUnit.path.startswith(path, autoescape=True),
        )
        .order_by(OrgUnit.code)
    ).all()  # fmt: skip
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": r.code,
                "properties": {
                    "id": r.id, "code": r.code, "name": r.name, "grid_type": r.grid_type,
                    "households": r.households, "population": r.population,
                },
                "geometry": r.geometry,
            }
            for r in rows
        ],
    }  # fmt: skip


@router.get(
    "/grids/geojson",
    response_class=Response,
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def grids_geojson(
    request: Request,
    principal: CurrentPrincipal,
    locator: Locator,
    db: DbSession,
    town: Annotated[str | None, Query(description="Town code; default: the caller's area.")] = None,
) -> Response:
    """Grid polygons of a town or of the caller's whole area, gzip-compressed and cached."""
    if town is not None:
        path = db.scalar(select(OrgUnit.path).where(OrgUnit.code == town, OrgUnit.kind == "town"))
        if path is None:
            raise invalid("town", f"no town with code {town}", f"不存在编码为 {town} 的镇街")
        principal.require_covers(path)
    else:
        path = principal.home_path
    generation, raw, zipped = await run_in_threadpool(
        locator.cached_geojson, path, lambda: _grid_features(db, path)
    )
    etag = f'W/"grids-{generation}-{path.strip("/").replace("/", ".")}"'
    headers = {"ETag": etag, "Cache-Control": "private, max-age=60", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(zipped, media_type="application/geo+json", headers=headers)
    return Response(raw, media_type="application/geo+json", headers=headers)


# What a layer's points carry beyond their stored props, from the domain that owns them (a
# camera's registry status and last-seen time): kind → (db, path) → feature id → props.
# `app.py` installs them as `app.state.layer_props`, so geo needs nothing from those domains.
LayerProps = Callable[..., dict[int, dict[str, Any]]]


def _bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if text is None:
        return None
    try:
        west, south, east, north = (float(part) for part in text.split(","))
    except ValueError:
        raise invalid(
            "bbox",
            "four numbers: min_lng,min_lat,max_lng,max_lat",
            "应为四个数：最小经度，最小纬度，最大经度，最大纬度",
        ) from None
    return south, north, west, east


@router.get(
    "/layers/{kind}",
    response_class=Response,
    summary="A point layer of the one-map",
    responses={200: {"content": {"application/geo+json": {}}}},
)
def layer(
    kind: str,
    request: Request,
    principal: CurrentPrincipal,
    db: ReadDbSession,
    org: Annotated[str | None, Query(description="Org code; default: your whole area.")] = None,
    bbox: Annotated[
        str | None, Query(description="min_lng,min_lat,max_lng,max_lat: only this box.")
    ] = None,
) -> Response:
    """`kind`: hospital, school, emergency_resource, enterprise, building, camera, hydrant,
    iot_device. A FeatureCollection of points (properties `id`, `kind`, `name`, `code`,
    `props`) in the caller's area or the org unit `org` inside it; a camera's `props` carry
    its registry `status` and `last_seen_at` too. Staff only."""
    principal.require_role(*STAFF_ROLES)
    if kind not in LAYER_KINDS:
        raise Problem(
            404, "not-found", "No such layer", "没有该图层",
            f"no layer {kind!r}; layers: {', '.join(LAYER_KINDS)}",
            f"没有图层 {kind}；可选：{'、'.join(LAYER_KINDS)}",
        )  # fmt: skip
    path = service.org_path(db, principal, org)
    features = service.layer_features(db=db, kind=kind, path=path, box=_bbox(bbox))
    owner: LayerProps | None = request.app.state.layer_props.get(kind)
    extra = owner(db=db, path=path) if owner is not None else {}
    return geojson_response(
        request,
        {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": f.id,
                    "geometry": {"type": "Point", "coordinates": [f.lng, f.lat]},
                    "properties": {
                        "id": f.id, "kind": f.kind, "name": f.name, "code": f.code,
                        "props": {**(f.props or {}), **extra.get(f.id, {})},
                    },
                }
                for f in features
            ],
        },
    )  # fmt: skip

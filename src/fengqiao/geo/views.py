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
from fengqiao.geo import areas, service
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
    return areas.grid_collection(rows)


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
    bbox: Annotated[
        str | None,
        Query(
            max_length=100,
            description="min_lng,min_lat,max_lng,max_lat: only the grids meeting this box (a "
            "province's map asks for the box in view).",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=areas.MAX_BOX_GRIDS, description="With `bbox`: the most grids.")
    ] = areas.MAX_BOX_GRIDS,
) -> Response:
    """Grid polygons of a town or of the caller's whole area (or of a box in either),
    gzip-compressed and cached. A box holding more than `limit` grids is a 422: zoom in."""
    if town is not None:
        path = db.scalar(select(OrgUnit.path).where(OrgUnit.code == town, OrgUnit.kind == "town"))
        if path is None:
            raise invalid("town", f"no town with code {town}", f"不存在编码为 {town} 的镇街")
        principal.require_covers(path)
    else:
        path = principal.home_path
    box = areas.parse_bbox(bbox)
    if box is None:
        key = path
        build: Callable[[], Any] = lambda: _grid_features(db, path)  # noqa: E731
    else:
        key = f"box:{limit}:{','.join(f'{v:.5f}' for v in box)}:{path}"

        def build() -> Any:
            features = areas.box_grid_features(db, path, box, limit)
            if features is None:
                raise invalid(
                    "bbox",
                    f"more than {limit} grids in the box: zoom in",
                    f"范围内网格超过 {limit} 个，请放大地图",
                )
            return features

    generation, raw, zipped = await run_in_threadpool(locator.cached_geojson, key, build)
    tag = key.strip("/").replace("/", ".").replace(":", "-").replace(",", "_")
    return _cached(request, f'W/"grids-{generation}-{tag}"', raw, zipped)


def _cached(request: Request, etag: str, raw: bytes, zipped: bytes) -> Response:
    """A cached GeoJSON answer: 304 when the client holds it, gzipped when it accepts that."""
    headers = {"ETag": etag, "Cache-Control": "private, max-age=60", "Vary": "Accept-Encoding"}
    if request.headers.get("if-none-match") == etag:
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(zipped, media_type=GEOJSON, headers=headers)
    return Response(raw, media_type=GEOJSON, headers=headers)


@router.get(
    "/map/areas",
    response_class=Response,
    summary="Outlines of the cities, districts or towns of an area",
    responses={200: {"content": {"application/geo+json": {}}}},
)
async def area_outlines(
    request: Request,
    principal: CurrentPrincipal,
    locator: Locator,
    db: DbSession,
    org: Annotated[
        str | None, Query(max_length=15, description="Org code; default: your whole area.")
    ] = None,
    kind: Annotated[
        str | None,
        Query(
            max_length=16,
            description="city, district or town; default: one level below `org` (a province's "
            "cities, a city's districts, a district's towns).",
        ),
    ] = None,
) -> Response:
    """The one-map's outlines above the grids: each unit's stored geometry, or the union of its
    grids, simplified for its level (properties `id`, `code`, `name`, `kind`; a `bbox` per
    feature). Staff only; gzip-compressed, cached per grid generation, with an ETag."""
    principal.require_role(*STAFF_ROLES)
    path = service.org_path(db, principal, org)
    if kind is None:
        own = db.scalar(select(OrgUnit.kind).where(OrgUnit.path == path))
        kind = areas.CHILD_KIND.get(own or "")
        if kind is None:
            raise invalid(
                "kind",
                "no outlines below a town: use the grid layer",
                "镇街以下没有区划轮廓，请使用网格图层",
            )
    if kind not in areas.OUTLINE_KINDS:
        raise invalid(
            "kind",
            f"one of {', '.join(areas.OUTLINE_KINDS)}",
            "区划层级应为市、区县或镇街之一",
        )
    chosen = kind
    generation, raw, zipped = await run_in_threadpool(
        locator.cached_geojson,
        f"areas:{chosen}:{path}",
        lambda: areas.outline_features(db, path, chosen),
    )
    tag = f"{chosen}-{path.strip('/').replace('/', '.')}"
    return _cached(request, f'W/"areas-{generation}-{tag}"', raw, zipped)


# What a layer's points carry beyond their stored props, from the domain that owns them (a
# camera's registry status and last-seen time): kind → (db, path) → feature id → props.
# `app.py` installs them as `app.state.layer_props`, so geo needs nothing from those domains.
LayerProps = Callable[..., dict[int, dict[str, Any]]]


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
    features = service.layer_features(db=db, kind=kind, path=path, box=areas.parse_bbox(bbox))
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

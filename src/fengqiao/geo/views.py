"""Point-to-grid lookup and the grids layer as GeoJSON."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select

from fengqiao.deps import CurrentPrincipal, DbSession, Locator
from fengqiao.errors import invalid
from fengqiao.geo.schemas import PlaceOut, PlaceRef
from fengqiao.org.models import OrgUnit

router = APIRouter(tags=["map"])


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

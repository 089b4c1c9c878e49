"""Reverse lookup for the phone: a GPS point becomes words a person reads, "柯桥街道 寿堰社区
第1网格 · 近 笛扬路": the grid holding the point and the nearest named place.

The named thing is, in this order: a point of interest right at the point (within `AT_M`: a
worker in the school's yard is "近 柯桥中学"); else the nearest named road within `ROAD_M` (the
base map's local roads, `basemap.models.BaseFeature`: "近 笛扬路"); else the nearest point of
interest within `NEAR_M` (hospitals, schools, enterprises, …); else the nearest address among the
latest events of the grid the caller may read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.basemap.models import BaseFeature
from fengqiao.events.models import Event
from fengqiao.events.scope import event_scope
from fengqiao.geo.distance import bounding_box, haversine_m
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import Place
from fengqiao.scope import Principal

NEAR_M = 1000.0
AT_M = 100.0
ROAD_M = 300.0
# Metres per degree of latitude; of longitude, times the cosine of the latitude.
M_PER_DEGREE = 111_320.0
# Named places: not cameras, sensors or hydrants (a hydrant's number is no landmark).
LANDMARK_KINDS = ("hospital", "school", "enterprise", "emergency_resource", "building")
RECENT_EVENTS = 200


@dataclass(frozen=True)
class Near:
    """The nearest named thing: a place's name or an event's address, and how far it is."""

    kind: str  # place, road or address
    name: str
    distance_m: float


def nearest_place(db: Session, *, lat: float, lng: float) -> Near | None:
    """The nearest landmark within NEAR_M (a latitude band of each kind's index, then exact)."""
    south, north, west, east = bounding_box(lat, lng, NEAR_M)
    rows = db.execute(
        select(LayerFeature.name, LayerFeature.lat, LayerFeature.lng).where(
            LayerFeature.kind.in_(LANDMARK_KINDS),
            LayerFeature.lat.between(south, north),
            LayerFeature.lng.between(west, east),
        )
    ).all()
    best = min(((haversine_m(lat, lng, r.lat, r.lng), r.name) for r in rows), default=None)
    if best is None or best[0] > NEAR_M:
        return None
    return Near("place", best[1], round(best[0]))


def _segment_m(px: float, py: float, a: list[float], b: list[float], scale: float) -> float:
    """Metres from (px, py) to the segment a–b, the three on a local flat projection."""
    ax, ay = a[0] * scale, a[1] * M_PER_DEGREE
    bx, by = b[0] * scale, b[1] * M_PER_DEGREE
    dx, dy = bx - ax, by - ay
    length = dx * dx + dy * dy
    t = 0.0 if length == 0 else max(0.0, min(1.0, ((px - ax) * dx + (py - ay) * dy) / length))
    return float(((px - ax - t * dx) ** 2 + (py - ay - t * dy) ** 2) ** 0.5)


def _lines(geometry: dict[str, object]) -> list[list[list[float]]]:
    coords = geometry.get("coordinates") or []
    if geometry.get("type") == "LineString":
        return [coords]  # type: ignore[list-item]
    if geometry.get("type") == "MultiLineString":
        return list(coords)  # type: ignore[call-overload]
    return []


def nearest_road(db: Session, *, lat: float, lng: float) -> Near | None:
    """The nearest named road of the local base within ROAD_M (the roads whose box, widened by
    ROAD_M, holds the point; then the distance to each of their segments)."""
    south, north, west, east = bounding_box(lat, lng, ROAD_M)
    rows = db.execute(
        select(BaseFeature.name, BaseFeature.geometry).where(
            BaseFeature.kind == "road",
            BaseFeature.min_lat <= north,
            BaseFeature.max_lat >= south,
            BaseFeature.min_lng <= east,
            BaseFeature.max_lng >= west,
        )
    ).all()
    scale = M_PER_DEGREE * math.cos(math.radians(lat))
    px, py = lng * scale, lat * M_PER_DEGREE
    best: tuple[float, str] | None = None
    for row in rows:
        for line in _lines(row.geometry):
            for a, b in pairwise(line):
                metres = _segment_m(px, py, a, b, scale)
                if best is None or metres < best[0]:
                    best = (metres, row.name)
    if best is None or best[0] > ROAD_M:
        return None
    return Near("road", best[1], round(best[0]))


def nearest_address(
    db: Session, *, lat: float, lng: float, grid_id: int, principal: Principal
) -> Near | None:
    """The nearest address among the grid's latest events the caller may read."""
    rows = db.execute(
        select(Event.address, Event.lat, Event.lng)
        .where(Event.grid_id == grid_id, event_scope(principal))
        .order_by(Event.created_at.desc(), Event.id.desc())
        .limit(RECENT_EVENTS)
    ).all()
    best = min(
        ((haversine_m(lat, lng, r.lat, r.lng), r.address) for r in rows if r.address.strip()),
        default=None,
    )
    if best is None or best[0] > NEAR_M:
        return None
    return Near("address", best[1], round(best[0]))


def describe(place: Place, near: Near | None) -> str:
    """The words shown instead of coordinates."""
    # A grid is named after its village (浦塘社区第1网格): said once, 浦塘社区 第1网格.
    grid = place.grid_name.removeprefix(place.village_name) or place.grid_name
    where = f"{place.town_name} {place.village_name} {grid}"
    return f"{where} · 近 {near.name}" if near else where


def reverse(db: Session, *, place: Place, principal: Principal) -> tuple[str, Near | None]:
    """The text for a located point and the named thing it mentions."""
    landmark = nearest_place(db, lat=place.lat, lng=place.lng)
    near = (
        (landmark if landmark and landmark.distance_m <= AT_M else None)
        or nearest_road(db, lat=place.lat, lng=place.lng)
        or landmark
        or nearest_address(
            db, lat=place.lat, lng=place.lng, grid_id=place.grid_id, principal=principal
        )
    )
    return describe(place, near), near

"""Response shapes of the map API."""

from __future__ import annotations

from pydantic import BaseModel


class PlaceRef(BaseModel):
    id: int
    code: str
    name: str


class PlaceOut(BaseModel):
    """Where a point lies; `lng`/`lat` are the WGS-84 coordinates after conversion."""

    lng: float
    lat: float
    crs: str
    grid: PlaceRef
    village: PlaceRef
    town: PlaceRef


class NearbyFeatureOut(BaseModel):
    """A map feature near a point; for cameras `code` is the 20-digit GB/T 28181 id and
    `stream_url` the stream from the camera registry (null when it has none)."""

    id: int
    kind: str
    name: str
    code: str | None
    lat: float
    lng: float
    distance_m: float
    stream_url: str | None

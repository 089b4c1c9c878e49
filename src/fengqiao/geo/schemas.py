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

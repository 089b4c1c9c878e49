"""Request and response shapes of the patrol API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from fengqiao.bounds import RequestModel
from fengqiao.geo.schemas import PlaceRef

MAX_BATCH = 500


class PointIn(RequestModel):
    """One GPS fix from the phone; `at` carries its UTC offset."""

    model_config = ConfigDict(extra="forbid")

    at: AwareDatetime
    lat: float = Field(allow_inf_nan=False)
    lng: float = Field(allow_inf_nan=False)
    accuracy: float | None = Field(default=None, allow_inf_nan=False)
    speed: float | None = Field(default=None, allow_inf_nan=False)


class PositionBatchIn(RequestModel):
    """1 to 500 points, in the coordinate system the phone's map SDK reports."""

    model_config = ConfigDict(extra="forbid")

    points: list[PointIn] = Field(min_length=1, max_length=MAX_BATCH)
    crs: Literal["wgs84", "cgcs2000", "gcj02", "bd09"] = "wgs84"


class PositionBatchOut(BaseModel):
    stored: int
    duplicates: int
    patrol_id: int | None


class PersonRef(BaseModel):
    id: int
    name: str


class PatrolOut(BaseModel):
    """A patrol with its totals; `grids` are the grids its points lay in, in visiting order."""

    id: int
    user: PersonRef
    started_at: datetime
    ended_at: datetime | None
    open: bool
    distance_m: float
    duration_s: int
    points: int
    grids: list[PlaceRef]


class TrackOut(BaseModel):
    """A worker's positions of one local day (Asia/Shanghai) as a track."""

    user: PersonRef
    date: date
    distance_m: float
    duration_s: int
    points: int
    grids: list[PlaceRef]
    patrols: list[PatrolOut]
    geometry: dict[str, Any] = Field(
        description="GeoJSON MultiLineString: one line per patrol or unbroken piece of track."
    )


class MyPatrolOut(BaseModel):
    open: PatrolOut | None
    today: TrackOut


class NearestWorkerOut(BaseModel):
    user_id: int
    name: str
    phone: str | None
    tel: str | None = Field(description='"tel:" + the number, only when it is shown unmasked.')
    distance_m: float
    at: datetime
    on_patrol: bool
    grid: PlaceRef | None

"""Request and response shapes of the org tree and units API."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import PatchModel, RequestModel


class OrgUnitOut(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    parent_id: int | None
    path: str
    area_type: str | None
    village_type: str | None
    grid_type: str | None
    households: int | None
    population: int | None
    bbox: list[float] | None = Field(description="[min_lng, min_lat, max_lng, max_lat]")


class OrgUnitDetail(OrgUnitOut):
    ancestors: list[OrgUnitOut]
    children: list[OrgUnitOut]
    geometry: dict[str, Any] | None


class OrgTreeNode(BaseModel):
    id: int
    code: str
    name: str
    kind: str
    children: list[OrgTreeNode] = []


class OrgSummary(BaseModel):
    towns: int
    villages: int
    grids: int
    special_grids: int
    grid_workers: int
    units: int
    users: int
    operators: int


# A GeoJSON position, ring and polygon; a grid's boundary has a few hundred points at most.
Position = Annotated[list[float], Field(min_length=2, max_length=3)]
Ring = Annotated[list[Position], Field(min_length=4, max_length=20_000)]
PolygonCoordinates = Annotated[list[Ring], Field(min_length=1, max_length=100)]


class GeometryIn(RequestModel):
    """A GeoJSON Polygon or MultiPolygon."""

    type: Literal["Polygon", "MultiPolygon"]
    coordinates: PolygonCoordinates | Annotated[list[PolygonCoordinates], Field(max_length=100)]


class OrgUnitEdit(PatchModel):
    """Fields an administrator may change; the same checks as an import apply. `name` may not
    be null; null clears the others."""

    clearable = frozenset(
        {"area_type", "village_type", "grid_type", "households", "population", "geometry"}
    )

    name: str | None = Field(None, min_length=1, max_length=100)
    area_type: str | None = Field(None, max_length=32)
    village_type: str | None = Field(None, max_length=32)
    grid_type: str | None = Field(None, max_length=32)
    households: int | None = Field(None, ge=0, le=10_000_000)
    population: int | None = Field(None, ge=0, le=100_000_000)
    geometry: GeometryIn | None = None


class ImportReportOut(BaseModel):
    created: int
    updated: int
    by_kind: dict[str, int]
    rerooted: list[str] = []


class UnitOut(BaseModel):
    id: int
    code: str
    name: str
    unit_type: str
    category: str
    platform: str | None
    org: dict[str, Any]
    phone: str | None
    duty_phone: str | None
    active: bool


# A phone or duty-line number as written in China: digits with an optional +, dashes, spaces.
PHONE_PATTERN = r"^\+?[0-9][0-9 -]{2,30}$"


class UnitCreate(RequestModel):
    """A new responsible unit at an org unit (district, town or village) in the caller's area."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        None,
        max_length=32,
        pattern=r"^[A-Za-z0-9_-]{2,32}$",
        description="Default: U + org code + sequence.",
    )
    name: str = Field(min_length=1, max_length=100)
    unit_type: str = Field(max_length=48, pattern=r"^[a-z][a-z0-9_]{1,47}$")
    category: str = Field(max_length=32)
    platform: str | None = Field(None, max_length=32)
    org_code: str = Field(max_length=32)
    phone: str | None = Field(None, max_length=32, pattern=PHONE_PATTERN)
    duty_phone: str | None = Field(None, max_length=32, pattern=PHONE_PATTERN)


class UnitEdit(PatchModel):
    """Fields of a responsible unit an administrator may change; null clears a phone or the
    platform, and may not be sent for the other fields."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"phone", "duty_phone", "platform"})

    name: str | None = Field(None, min_length=1, max_length=100)
    unit_type: str | None = Field(None, max_length=48, pattern=r"^[a-z][a-z0-9_]{1,47}$")
    category: str | None = Field(None, max_length=32)
    platform: str | None = Field(None, max_length=32)
    phone: str | None = Field(None, max_length=32, pattern=PHONE_PATTERN)
    duty_phone: str | None = Field(None, max_length=32, pattern=PHONE_PATTERN)
    active: bool | None = None

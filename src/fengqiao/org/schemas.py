"""Request and response shapes of the org tree and units API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


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


class OrgUnitEdit(BaseModel):
    """Fields an administrator may change; the same checks as an import apply."""

    name: str | None = Field(None, min_length=1, max_length=100)
    area_type: str | None = None
    village_type: str | None = None
    grid_type: str | None = None
    households: int | None = Field(None, ge=0)
    population: int | None = Field(None, ge=0)
    geometry: dict[str, Any] | None = None


class ImportReportOut(BaseModel):
    created: int
    updated: int
    by_kind: dict[str, int]


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


class UnitCreate(BaseModel):
    """A new responsible unit at an org unit (district, town or village) in the caller's area."""

    model_config = ConfigDict(extra="forbid")

    code: str | None = Field(
        None, pattern=r"^[A-Za-z0-9_-]{2,32}$", description="Default: U + org code + sequence."
    )
    name: str = Field(min_length=1, max_length=100)
    unit_type: str = Field(pattern=r"^[a-z][a-z0-9_]{1,47}$")
    category: str
    platform: str | None = None
    org_code: str
    phone: str | None = Field(None, pattern=PHONE_PATTERN)
    duty_phone: str | None = Field(None, pattern=PHONE_PATTERN)


class UnitEdit(BaseModel):
    """Fields of a responsible unit an administrator may change; null clears a phone."""

    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(None, min_length=1, max_length=100)
    unit_type: str | None = Field(None, pattern=r"^[a-z][a-z0-9_]{1,47}$")
    category: str | None = None
    platform: str | None = None
    phone: str | None = Field(None, pattern=PHONE_PATTERN)
    duty_phone: str | None = Field(None, pattern=PHONE_PATTERN)
    active: bool | None = None

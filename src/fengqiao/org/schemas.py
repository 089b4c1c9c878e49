"""Request and response shapes of the org tree and units API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


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

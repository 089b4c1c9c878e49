"""The search box's answers."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FoundOut(BaseModel):
    kind: str = Field(description="area, place, unit, camera or event")
    sub: str = Field(
        description="town/village/grid; hospital/school/…; a unit's category; camera or event "
        "status"
    )
    sub_label: str = Field(description="`sub` in Chinese (镇街, 医院, 在线, 待受理, …)")
    id: int
    name: str
    detail: str = Field(description="What tells it apart: its town and village, address, area")
    code: str | None
    lat: float | None
    lng: float | None
    bbox: list[float] | None = Field(
        None, description="[min lng, min lat, max lng, max lat] of an area (and a unit's area)"
    )


class SearchGroupOut(BaseModel):
    kind: str
    label: str = Field(description="The kind in Chinese")
    items: list[FoundOut]


class SearchOut(BaseModel):
    q: str
    mode: str = Field(description="fts or trgm (text indexes), prefix (a term under 3 characters)")
    groups: list[SearchGroupOut]


class NearOut(BaseModel):
    kind: str = Field(
        description="place (a point of interest), road (the base map's) or address (an event's)"
    )
    name: str
    distance_m: float


class ReverseOut(BaseModel):
    text: str = Field(description="「柯桥街道 寿堰社区 第1网格 · 近 笛扬路」")
    lat: float
    lng: float
    town: str
    village: str
    grid: str
    grid_id: int
    grid_code: str
    near: NearOut | None


class PlaceRowErrorOut(BaseModel):
    row: int
    field: str
    reason: str
    reason_zh: str


class PlaceImportOut(BaseModel):
    dry_run: bool
    rows: int
    created: int
    updated: int
    refused: int
    errors: list[PlaceRowErrorOut]

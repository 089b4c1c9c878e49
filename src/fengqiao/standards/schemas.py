"""The standard's request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from fengqiao.bounds import PatchModel, RequestModel

ITEMS_MAX = 120  # items of one version
Aspect = Literal["system", "platform", "command", "grid", "territorial", "service", "signage",
                 "ledger"]  # fmt: skip
Evidence = Literal["photo", "document", "none"]


class ItemIn(RequestModel):
    aspect: Aspect
    text: str = Field(min_length=1, max_length=200, pattern=r"\S")
    weight: float = Field(gt=0, le=100, description="Points; a version's weights sum to 100.")
    evidence: Evidence = "none"


class StandardIn(RequestModel):
    title: str = Field(min_length=1, max_length=100, pattern=r"\S")
    note: str | None = Field(None, max_length=500)
    items: list[ItemIn] | None = Field(
        None, max_length=ITEMS_MAX,
        description="The checklist; left out, the current published version's items are copied.",
    )  # fmt: skip


class StandardPatch(PatchModel):
    """Change a draft; a field left out is kept."""

    title: str | None = Field(None, min_length=1, max_length=100, pattern=r"\S")
    note: str | None = Field(None, max_length=500)
    items: list[ItemIn] | None = Field(None, max_length=ITEMS_MAX)
    version: int = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")


class StandardStep(RequestModel):
    version: int = Field(ge=1, le=2**31 - 1)


class PersonOut(BaseModel):
    id: int
    name: str


class ItemOut(BaseModel):
    id: int
    position: int
    aspect: str
    aspect_name: str
    text: str
    weight: float
    evidence: str
    evidence_name: str


class AspectOut(BaseModel):
    aspect: str
    name: str
    weight: float
    items: list[ItemOut]


class TrailOut(BaseModel):
    at: datetime
    action: str
    action_name: str
    actor: PersonOut | None
    note: str | None = None


class StandardOut(BaseModel):
    id: int
    number: int
    title: str
    note: str | None
    status: str
    status_name: str
    version: int
    weight_total: float
    created_by: PersonOut | None
    created_at: datetime
    published_by: PersonOut | None
    published_at: datetime | None
    superseded_at: datetime | None
    aspects: list[AspectOut] = []
    trail: list[TrailOut] = []

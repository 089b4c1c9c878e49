"""What the service catalogue and proxy-request APIs take and give."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fengqiao.bounds import PatchModel, RequestModel, Text200
from fengqiao.events.schemas import Ref

Level = Literal["village", "town", "district", "online"]
ProxyAction = Literal["take", "submit", "complete", "refuse", "withdraw"]
ProxyStatus = Literal["requested", "taken", "submitted", "done", "refused", "withdrawn"]


def _clean_list(values: list[str]) -> list[str]:
    out: list[str] = []
    for value in values:
        text = value.strip()
        if text and text not in out:
            out.append(text)
    return out


class ItemIn(RequestModel):
    """A catalogue item as an administrator writes it (also one entry of an import file)."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    name: str = Field(min_length=2, max_length=100)
    category: str = Field(min_length=1, max_length=32)
    levels: list[Level] = Field(min_length=1, max_length=4, description="Where it can be done.")
    materials: list[Text200] = Field(default_factory=list, max_length=40)
    time_limit_days: int = Field(ge=0, le=365, description="Legal limit, working days; 0 = 即办.")
    fee: str = Field("免费", min_length=1, max_length=64)
    unit_type: str = Field(min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_]*$")
    unit_name: str = Field(min_length=1, max_length=64)
    description: str = Field("", max_length=4000)
    tags: list[Text200] = Field(default_factory=list, max_length=20)
    proxy_allowed: bool = Field(True, description="Whether a grid worker may handle it (代办).")
    is_active: bool = True

    @field_validator("name", "category", "fee", "unit_name")
    @classmethod
    def _strip(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("must not be blank")
        return value

    @field_validator("materials", "tags")
    @classmethod
    def _items(cls, values: list[str]) -> list[str]:
        if any(len(v) > 200 for v in values):
            raise ValueError("each entry at most 200 characters")
        return _clean_list(values)

    @field_validator("levels")
    @classmethod
    def _levels(cls, values: list[Level]) -> list[Level]:
        return list(dict.fromkeys(values))


class ItemPatch(PatchModel):
    """Changes to an item; `version` must be the one read (409 otherwise); no field may be
    set to null (leave it out to keep it)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    name: str | None = Field(None, min_length=2, max_length=100)
    category: str | None = Field(None, min_length=1, max_length=32)
    levels: list[Level] | None = Field(None, min_length=1, max_length=4)
    materials: list[Text200] | None = Field(None, max_length=40)
    time_limit_days: int | None = Field(None, ge=0, le=365)
    fee: str | None = Field(None, min_length=1, max_length=64)
    unit_type: str | None = Field(None, min_length=1, max_length=48, pattern=r"^[a-z][a-z0-9_]*$")
    unit_name: str | None = Field(None, min_length=1, max_length=64)
    description: str | None = Field(None, max_length=4000)
    tags: list[Text200] | None = Field(None, max_length=20)
    proxy_allowed: bool | None = None
    is_active: bool | None = None


class ItemImport(RequestModel):
    """An import file: `{"version": 1, "items": [...]}`; items update in place by code."""

    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    items: list[ItemIn] = Field(min_length=1, max_length=2000)


class ItemOut(BaseModel):
    id: int
    code: str
    name: str
    category: str
    levels: list[Level]
    level_names: list[str]
    materials: list[str]
    time_limit_days: int
    time_limit_text: str = Field(description="e.g. 5 个工作日, or 即办.")
    fee: str
    unit_type: str
    unit_name: str
    description: str
    tags: list[str]
    proxy_allowed: bool
    is_active: bool
    version: int
    updated_at: datetime


class ItemHit(ItemOut):
    name_match: bool = Field(description="The name holds every term (such hits come first).")


class ItemPage(BaseModel):
    items: list[ItemHit]
    total: int
    page: int
    size: int
    query: str
    mode: str = Field(description="fts (trigram index), like (short terms), trgm (PostgreSQL).")


class ImportReport(BaseModel):
    created: int
    updated: int
    total: int


class ProxyCreate(RequestModel):
    """A proxy request. Residents with an account leave the resident fields out (their own)."""

    model_config = ConfigDict(extra="forbid")

    item_id: int = Field(ge=1)
    resident_name: str | None = Field(None, min_length=1, max_length=64)
    resident_phone: str | None = Field(
        None, max_length=16, pattern=r"^1[3-9]\d{9}$|^0\d{2,3}-?\d{7,8}$"
    )
    resident_id_number: str | None = Field(
        None, max_length=32, description="18-digit ID number (optional)."
    )
    resident_user_id: int | None = Field(None, ge=1, description="The resident's account, if any.")
    grid_id: int | None = Field(None, ge=1, description="Default: the creator's (first) grid.")
    address: str = Field("", max_length=200)
    note: str = Field("", max_length=2000)

    @field_validator("resident_id_number")
    @classmethod
    def _id_number(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip().upper()
        if not valid_id_number(value):
            raise ValueError("not a valid 18-digit resident ID number (checksum)")
        return value


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_id_number(value: str) -> bool:
    """GB 11643: 17 digits and a check character (ISO 7064 MOD 11-2)."""
    if len(value) != 18 or not value[:17].isdigit() or value[17] not in "0123456789X":
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == value[17]


class ProxyTransition(RequestModel):
    model_config = ConfigDict(extra="forbid")

    action: ProxyAction
    version: int = Field(ge=1, description="The version read; a stale one is a 409.")
    note: str = Field("", max_length=2000)
    result: str | None = Field(None, max_length=2000, description="办结 result (complete).")


class ProxyTrailRow(BaseModel):
    seq: int
    at: datetime
    actor: Ref | None
    action: str
    action_name: str
    from_status: str | None
    to_status: str
    note: str


class ProxyOut(BaseModel):
    id: int
    code: str
    item: Ref
    time_limit_days: int
    resident_name: str
    resident_phone: str
    resident_id_number: str | None
    resident_user_id: int | None
    grid: Ref
    village: Ref
    town: Ref
    address: str
    note: str
    status: ProxyStatus
    status_name: str
    created_by: Ref
    worker: Ref | None
    created_at: datetime
    taken_at: datetime | None
    submitted_at: datetime | None
    finished_at: datetime | None
    due_at: datetime
    light: str | None = Field(description="green, yellow or red while open; None once finished.")
    overdue: bool = Field(description="Open past its deadline, or finished after it.")
    result: str | None
    version: int
    actions: list[str] = Field(description="What the caller may do next.")


class ProxyDetail(ProxyOut):
    trail: list[ProxyTrailRow]


class ProxySummary(BaseModel):
    open: int
    overdue: int = Field(description="Open requests past their deadline.")
    yellow: int
    done: int


class ProxyPage(BaseModel):
    items: list[ProxyOut]
    total: int
    page: int
    size: int
    summary: ProxySummary

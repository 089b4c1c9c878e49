"""The notices' and leaflets' request and answer bodies; every request field bounded."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, model_validator

from fengqiao.bounds import PatchModel, RequestModel

RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]
TITLE_MAX = 100
BODY_MAX = 4000
IMAGES_MAX = 4  # images per notice
VALID_DAYS_MAX = 366  # a notice is valid at most a year
HOUSEHOLD_MAX = 100
COPIES_MAX = 10_000_000


def _period(valid_from: date | None, valid_to: date | None) -> None:
    if valid_from is not None and valid_to is not None:
        if valid_to < valid_from:
            raise ValueError("valid_to is before valid_from")
        if (valid_to - valid_from).days > VALID_DAYS_MAX:
            raise ValueError(f"a notice is valid at most {VALID_DAYS_MAX} days")


class NoticeIn(RequestModel):
    org_id: RowId = Field(description="The area: a district, town, village or grid in scope.")
    title: str = Field(min_length=1, max_length=TITLE_MAX, pattern=r"\S")
    text: str = Field(min_length=1, max_length=BODY_MAX, pattern=r"\S", description="Plain text.")
    valid_from: date
    valid_to: date
    publish: bool = Field(False, description="Publish at once instead of keeping a draft.")

    @model_validator(mode="after")
    def _check_period(self) -> NoticeIn:
        _period(self.valid_from, self.valid_to)
        return self


class NoticePatch(PatchModel):
    """Change a draft or published notice; a field left out is kept (null is refused)."""

    title: str | None = Field(None, min_length=1, max_length=TITLE_MAX, pattern=r"\S")
    text: str | None = Field(None, min_length=1, max_length=BODY_MAX, pattern=r"\S")
    valid_from: date | None = None
    valid_to: date | None = None
    version: int = Field(ge=1, le=2**31 - 1, description="The version read; a stale one is 409.")


class NoticeStep(RequestModel):
    version: int = Field(ge=1, le=2**31 - 1)
    reason: str | None = Field(None, max_length=500, description="Why it is withdrawn.")


class PersonOut(BaseModel):
    id: int
    name: str


class PlaceOut(BaseModel):
    id: int
    name: str
    kind: str


class ImageOut(BaseModel):
    url: str
    width: int
    height: int


class TrailOut(BaseModel):
    at: datetime
    action: str
    action_name: str
    actor: PersonOut
    note: str | None = None


class NoticeOut(BaseModel):
    id: int
    org: PlaceOut
    title: str
    text: str
    images: list[ImageOut]
    valid_from: date
    valid_to: date
    status: str
    status_name: str
    version: int
    created_by: PersonOut
    created_at: datetime
    published_by: PersonOut | None = None
    published_at: datetime | None = None
    withdrawn_by: PersonOut | None = None
    withdrawn_at: datetime | None = None
    trail: list[TrailOut] = []


class PublicNoticeOut(BaseModel):
    """What a resident sees: no staff names, no trail."""

    id: int
    area: str
    title: str
    text: str
    images: list[ImageOut]
    valid_from: date
    valid_to: date
    published_at: datetime | None


class PublicNotices(BaseModel):
    area: PlaceOut
    items: list[PublicNoticeOut]


class TownPlaces(BaseModel):
    id: int
    name: str
    villages: list[PlaceOut]


class CampaignIn(RequestModel):
    org_id: RowId = Field(description="The area the leaflets go to (in scope).")
    name: str | None = Field(None, min_length=1, max_length=TITLE_MAX, pattern=r"\S")
    notice_id: RowId | None = Field(None, description="The notice the leaflets go with.")
    copies: int = Field(ge=1, le=COPIES_MAX, description="Copies printed.")

    @model_validator(mode="after")
    def _named(self) -> CampaignIn:
        if self.name is None and self.notice_id is None:
            raise ValueError("give the campaign a name or the notice it goes with")
        return self


class DeliveryIn(RequestModel):
    grid_id: RowId
    household: str = Field(
        min_length=1, max_length=HOUSEHOLD_MAX, pattern=r"\S",
        description="The household's address or door number in the grid.",
    )  # fmt: skip
    copies: int = Field(1, ge=1, le=20)


class CampaignOut(BaseModel):
    id: int
    org: PlaceOut
    name: str
    notice_id: int | None
    copies: int
    created_by: PersonOut
    created_at: datetime
    delivered: int  # households reached, in the caller's area
    households: int  # households of the caller's grids in the campaign's area


class DeliveryOut(BaseModel):
    id: int
    campaign_id: int
    grid: PlaceOut
    household: str
    copies: int
    delivered_by: PersonOut
    delivered_at: datetime


class GridCoverage(BaseModel):
    grid: PlaceOut
    village: str
    households: int
    reached: int
    rate: float | None  # reached / households, None for a grid without households


class CoverageOut(BaseModel):
    campaign: dict[str, Any]
    households: int
    reached: int
    rate: float | None
    grids: list[GridCoverage]


class HouseholdOut(BaseModel):
    household: str
    delivered: bool

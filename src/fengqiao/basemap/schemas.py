"""Request and response bodies of the base map setting."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Provider = Literal["tianditu", "xyz", "gcj02", "local"]


class BasemapIn(BaseModel):
    """What an administrator sets; `api_key` left out keeps the stored key."""

    model_config = ConfigDict(extra="forbid")

    provider: Provider
    url_template: str | None = Field(None, max_length=500)
    api_key: str | None = Field(None, max_length=64)
    attribution: str | None = Field(None, max_length=200)
    max_zoom: int | None = Field(None, ge=1, le=20)
    subdomains: str | None = Field(None, max_length=16)


class BasemapOut(BaseModel):
    """The setting as the admin page sees it: the key only by its last four characters."""

    provider: Provider
    url_template: str | None
    has_key: bool
    key_hint: str | None
    attribution: str
    max_zoom: int
    subdomains: str
    source: Literal["stored", "settings", "default"]
    updated_at: datetime | None

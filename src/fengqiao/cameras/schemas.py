"""Request and response shapes of the camera registry API."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.bounds import PatchModel, RequestModel
from fengqiao.geo.schemas import NearbyFeatureOut


class GridRef(BaseModel):
    id: int
    code: str
    name: str


class CameraOut(BaseModel):
    """A camera of the registry. `code` is its 20-digit GB/T 28181 id; `type` is `camera` (type
    code 131) or `ip_camera` (132); `protocol` is `rtsp` or `hls`. `playback_url` is where a
    browser plays it (`playback_kind` `hls` or `whep`; see docs/video.md), null when neither
    the gateway template nor the camera's own HLS address gives one."""

    id: int
    code: str
    name: str
    type: str
    lat: float
    lng: float
    grid: GridRef | None
    stream_url: str | None
    protocol: str | None
    install_place: str | None
    status: str
    status_zh: str
    last_seen_at: datetime | None
    status_at: datetime | None
    updated_at: datetime | None
    playback_url: str | None = None
    playback_kind: str | None = None


class NearbyCameraOut(NearbyFeatureOut):
    """A camera near a point, with its status, where it is installed and where it plays."""

    status: str
    status_zh: str
    last_seen_at: datetime | None
    install_place: str | None
    protocol: str | None
    playback_url: str | None = None
    playback_kind: str | None = None


class CameraEdit(PatchModel):
    """An operator's change to a camera; fields left out keep their values. `lat`/`lng` come
    together, in `crs` (default wgs84). Null clears `stream_url` or `install_place`."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"stream_url", "install_place"})

    name: str | None = Field(None, max_length=100)
    lat: float | None = None
    lng: float | None = None
    crs: str | None = Field(None, max_length=16)
    stream_url: str | None = Field(None, max_length=1000)
    install_place: str | None = Field(None, max_length=200)
    status: str | None = Field(
        None, max_length=16, description="online, offline or fault (在线/离线/故障)."
    )


class StatusItem(RequestModel):
    """One camera's status. `at` is a string checked entry by entry (not here): one bad time
    refuses that entry alone, not the whole push."""

    code: str = Field(max_length=32)
    status: str = Field(max_length=16, description="online, offline or fault (在线/离线/故障).")
    at: str | None = Field(
        None,
        max_length=64,
        description="When the platform saw this status: ISO 8601 with a time zone; default now.",
    )


class StatusPush(RequestModel):
    """Statuses from the video platform: any number of cameras, in any order."""

    model_config = ConfigDict(extra="forbid")

    cameras: list[StatusItem] = Field(max_length=50_000)


class RowErrorOut(BaseModel):
    row: int
    code: str
    field: str
    reason: str
    reason_zh: str


class StatusReportOut(BaseModel):
    received: int
    changed: int
    unchanged: int
    stale: int
    refused: list[RowErrorOut]


class CameraImportOut(BaseModel):
    """What an import did (with `dry_run`, what it would do: nothing was written). `rows`
    counts the data rows; each one is created, updated, unchanged or refused; `errors` holds
    every reason a row was refused (a row may have several)."""

    dry_run: bool
    rows: int
    created: int
    updated: int
    unchanged: int
    refused: int
    errors: list[RowErrorOut]
    ignored_columns: list[str]

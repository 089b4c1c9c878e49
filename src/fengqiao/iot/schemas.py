"""Request and response shapes of the IoT API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fengqiao.bounds import PatchModel, RequestModel
from fengqiao.events.schemas import Ref

# A device code is one MQTT topic level: no '/', '+' or '#'; it is also the map point's code.
DEVICE_CODE = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$"
DEVICE_TYPE = r"^[a-z][a-z0-9_]{0,31}$"


class DeviceIn(RequestModel):
    """A device to register."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(
        max_length=32, pattern=DEVICE_CODE, description="Unique; the device's MQTT topic level."
    )
    name: str = Field(min_length=1, max_length=200)
    device_type: str = Field(
        max_length=32,
        pattern=DEVICE_TYPE,
        description="water_quality, smoke_detector, fire_alarm, gas_detector, manhole_cover, "
        "or any type the rules name.",
    )
    lng: float = Field(allow_inf_nan=True)
    lat: float = Field(allow_inf_nan=True)
    crs: str = Field("wgs84", max_length=16, description="wgs84 (also CGCS2000), gcj02 or bd09.")
    address: str = Field("", max_length=200)
    category: str | None = Field(
        None, max_length=16, description="Class for alarms no rule maps (`alarm: true`)."
    )
    unit_id: int | None = Field(None, description="The unit that owns and maintains it.")
    reporter: str | None = Field(
        None,
        max_length=64,
        description="Device-role account its events are filed under; default "
        "FENGQIAO_IOT_REPORTER.",
    )

    @field_validator("crs")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()


class DevicePatch(PatchModel):
    """Fields to change; `category` or `unit_id` sent as null clears them; null is
    refused for the others."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    clearable = frozenset({"category", "unit_id"})

    name: str | None = Field(None, min_length=1, max_length=200)
    device_type: str | None = Field(None, max_length=32, pattern=DEVICE_TYPE)
    lng: float | None = Field(None, allow_inf_nan=True)
    lat: float | None = Field(None, allow_inf_nan=True)
    crs: str = Field("wgs84", max_length=16)
    address: str | None = Field(None, max_length=200)
    category: str | None = Field(None, max_length=16)
    unit_id: int | None = None
    reporter: str | None = Field(None, max_length=64)


class DeviceOut(BaseModel):
    id: int
    code: str
    name: str
    device_type: str
    device_type_name: str
    lng: float
    lat: float
    address: str
    grid: Ref
    category_code: str | None
    unit_id: int | None
    reporter: str
    status: str
    key_prefix: str
    topic: str = Field(description="Where it publishes alarms (…/recovery for recoveries).")
    created_at: datetime
    updated_at: datetime
    last_seen_at: datetime | None


class DeviceCreated(DeviceOut):
    key: str = Field(description="The device key, shown this once; only its hash is stored.")


class DeviceList(BaseModel):
    items: list[DeviceOut]
    total: int
    page: int
    size: int


class KeyOut(BaseModel):
    device_id: int
    key: str = Field(description="The new key, shown this once; the old one no longer works.")


class RuleOut(BaseModel):
    id: int
    position: int
    device_type: str
    reading: str
    op: str
    threshold: float | None
    threshold_high: float | None
    category: str
    auto_close: bool
    name_zh: str
    active: bool
    condition: str


class RulePatch(PatchModel):
    """Thresholds and flags of one rule; null clears a threshold or the class."""

    model_config = ConfigDict(extra="forbid")
    clearable = frozenset({"threshold", "threshold_high"})

    op: str | None = Field(None, max_length=16)
    threshold: float | None = Field(None, allow_inf_nan=False)
    threshold_high: float | None = Field(None, allow_inf_nan=False)
    category: str | None = Field(None, max_length=16)
    auto_close: bool | None = None
    active: bool | None = None
    name_zh: str | None = Field(None, min_length=1, max_length=64)


class QuarantineOut(BaseModel):
    id: int
    at: datetime
    channel: str
    topic: str
    device_code: str | None
    payload: str
    reason: str
    reason_title: str
    reason_title_zh: str
    detail: str
    detail_zh: str
    count: int


class QuarantineList(BaseModel):
    items: list[QuarantineOut]
    total: int
    page: int
    size: int


class AlarmResult(BaseModel):
    """What became of an alarm sent to the webhook."""

    result: str = Field(
        description="filed, folded, normal, recovered, recovery or duplicate (an `id` seen before)."
    )
    result_name: str
    event_id: int | None = None
    event_code: str | None = None
    alarm_count: int | None = None
    rule: dict[str, Any] | None = None
    closed: list[int] = Field(default_factory=list, description="Events closed by a recovery.")


class FoldOut(BaseModel):
    """An IoT event's device and alarm counter."""

    event_id: int
    device: Ref
    category_code: str
    rule_id: int | None
    auto_close: bool
    alarm_count: int
    first_at: datetime
    last_at: datetime
    last_readings: dict[str, Any] | None
    status: str
    recovered_at: datetime | None


class StatsOut(BaseModel):
    accepted: int
    outcomes: dict[str, int]
    quarantined: int
    reasons: dict[str, int]
    open_events: int
    open_event_alarms: int
    devices: dict[str, int]

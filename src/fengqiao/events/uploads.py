"""What a photo upload says beyond the photos' bytes (the upload contract, docs/api.md): one
`origin` per photo (camera or album), and once per request the phone's position at upload
(`device_lat`, `device_lng`, `device_accuracy` in metres, `device_at` with its offset).

Checked and bounded here; nonsense is a 422 naming the field. Whether a photo proves anything
is decided later, by `events.proof`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fengqiao.errors import invalid
from fengqiao.events.photos import ORIGINS, DeviceFix, PhotoInfo

CAPTURE_FIELDS = ("origin", "device_lat", "device_lng", "device_accuracy", "device_at")
_TEXT_MAX = 64
_ACCURACY_MAX = 100_000.0  # metres: anything coarser is no position at all
# A phone's clock may be wrong, but not by more than a day into the future.
_FUTURE_MAX = timedelta(days=1)


@dataclass(frozen=True)
class Capture:
    """How the photos of one upload were captured: an origin for each, and the phone's fix."""

    origins: tuple[str, ...]
    device: DeviceFix | None

    def apply(self, photos: Sequence[PhotoInfo]) -> list[PhotoInfo]:
        """The photos, each with its origin and the upload's fix."""
        origins = self.origins or ("unknown",) * len(photos)
        return [
            dataclasses.replace(photo, origin=origin, device=self.device)
            for photo, origin in zip(photos, origins, strict=True)
        ]


def take_capture(fields: dict[str, Any], *, photos: int, now: datetime) -> Capture:
    """Take the capture fields out of a submission's fields (the rest is the event's or the
    step's) and check them against the number of photos sent."""
    given = {name: fields.pop(name) for name in CAPTURE_FIELDS if name in fields}
    return Capture(
        origins=_origins(given.get("origin"), photos),
        device=_device(given, now),
    )


def _origins(value: Any, photos: int) -> tuple[str, ...]:
    if value is None:
        return ()
    values = value if isinstance(value, list) else [value]
    if len(values) != photos:
        raise invalid(
            "origin",
            f"send one origin per photo, in the same order ({len(values)} for {photos} photos)",
            f"每张照片须对应一个来源，顺序一致（收到 {len(values)} 个来源、{photos} 张照片）",
        )
    for index, origin in enumerate(values):
        if origin not in ORIGINS:
            raise invalid(
                f"origin[{index}]",
                "origin is camera (taken in the app) or album (chosen from the phone's photos)",
                "照片来源须为现场拍摄或相册选取",
            )
    return tuple(values)


def _device(given: dict[str, Any], now: datetime) -> DeviceFix | None:
    lat = _number(given, "device_lat", -90.0, 90.0)
    lng = _number(given, "device_lng", -180.0, 180.0)
    accuracy = _number(given, "device_accuracy", 0.0, _ACCURACY_MAX)
    at = _time(given, now)
    if (lat is None) != (lng is None):
        missing = "device_lng" if lng is None else "device_lat"
        raise invalid(
            missing,
            "the phone's position needs both device_lat and device_lng",
            "手机定位须同时提供纬度与经度",
        )
    if lat is None or lng is None:
        for name in ("device_accuracy", "device_at"):
            if given.get(name) not in (None, ""):
                raise invalid(
                    name,
                    f"{name} belongs to a position: send device_lat and device_lng with it",
                    "定位精度和定位时间须与手机定位（纬度、经度）一起提供",
                )
        return None
    return DeviceFix(lat=lat, lng=lng, accuracy_m=accuracy, at=at)


def _text(given: dict[str, Any], name: str) -> str | None:
    value = given.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, list) or len(str(value)) > _TEXT_MAX:
        raise invalid(name, "send one short value", "只能提供一个值，且不超过 64 个字符")
    return str(value).strip()


def _number(given: dict[str, Any], name: str, low: float, high: float) -> float | None:
    text = _text(given, name)
    if text is None:
        return None
    try:
        number = float(text)
    except ValueError:
        raise invalid(name, "not a number", "应为数字") from None
    if not math.isfinite(number) or not low <= number <= high:
        raise invalid(
            name,
            f"must be a number from {low:g} to {high:g}",
            f"应为 {low:g} 至 {high:g} 之间的数字",
        )
    return number


def _time(given: dict[str, Any], now: datetime) -> datetime | None:
    text = _text(given, "device_at")
    if text is None:
        return None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise invalid(
            "device_at",
            "not an ISO 8601 time (e.g. 2026-12-01T09:30:00+08:00)",
            "时间格式不正确，应如 2026-12-01T09:30:00+08:00",
        ) from None
    if at.tzinfo is None:
        raise invalid(
            "device_at", "the time needs its offset (+08:00)", "时间须带时区（如 +08:00）"
        )
    at = at.astimezone(UTC)
    if at > now + _FUTURE_MAX:
        raise invalid(
            "device_at", "the time lies more than a day ahead", "定位时间晚于当前时间一天以上"
        )
    return at

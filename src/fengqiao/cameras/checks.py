"""Checks of a camera's fields, shared by the CSV import and an operator's edit: the GB/T 28181
id, the name, the point (located in a grid of the district, inside the caller's area), the
stream URL (RTSP or HLS) and the status word."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import TypeAdapter, ValidationError

from fengqiao.cameras.codes import check_camera_code
from fengqiao.cameras.index import path_ids
from fengqiao.cameras.models import CAMERA_STATUS_ZH, CAMERA_STATUSES
from fengqiao.crs import SUPPORTED_CRS
from fengqiao.errors import FieldError, Problem
from fengqiao.geo.service import GridLocator, Place
from fengqiao.scope import Principal

_DATETIME = TypeAdapter(datetime)
STATUS_WORDS = {**{s: s for s in CAMERA_STATUSES}, **{zh: s for s, zh in CAMERA_STATUS_ZH.items()}}
# Coordinates are exported with 7 decimals (about 1 cm) and compared at that precision, so an
# export imports again unchanged.
COORD_DECIMALS = 7
MAX_NAME = 200
MAX_URL = 500


@dataclass(frozen=True)
class RowError:
    """One reason a row of an import was refused."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    code: str
    field: str
    reason: str
    reason_zh: str


@dataclass(frozen=True)
class CameraInput:
    """One camera as an import row or an edit describes it, checked and located."""

    code: str
    name: str
    lat: float
    lng: float
    grid_id: int
    stream_url: str
    status: str | None  # None: keep the stored status (a new camera starts offline)
    install_place: str | None


@dataclass(frozen=True)
class StoredCamera:
    id: int
    kind: str
    name: str
    lat: float
    lng: float
    grid_id: int | None
    props: dict[str, Any]
    status: str | None


# --- checks -----------------------------------------------------------------------------------


def check_stream_url(url: str) -> FieldError | None:
    """None for an RTSP URL or an HTTP(S) HLS playlist (.m3u8); else why not."""
    if len(url) > MAX_URL:
        return FieldError(
            "stream_url", f"longer than {MAX_URL} characters", f"超过 {MAX_URL} 个字符"
        )
    if any(c.isspace() or ord(c) < 32 for c in url):
        return FieldError(
            "stream_url", "contains spaces or control characters", "含有空格或控制字符"
        )
    try:
        parts = urlsplit(url)
    except ValueError:
        return FieldError("stream_url", "not a URL", "不是有效的地址")
    scheme = parts.scheme.lower()
    if scheme not in ("rtsp", "rtsps", "http", "https"):
        shown = scheme or "none"
        return FieldError(
            "stream_url",
            f"scheme {shown!r} is not a stream: use rtsp:// or an http(s):// HLS playlist (.m3u8)",
            f"协议 {shown} 不是视频流：应为 rtsp:// 或 http(s):// 的 HLS 地址（.m3u8）",
        )
    if not parts.hostname:
        return FieldError("stream_url", "has no host", "缺少主机地址")
    if parts.username or parts.password:
        # Every staff member who sees the camera sees its link: no passwords in it.
        return FieldError(
            "stream_url",
            "carries a user name or password: every staff member who sees the camera sees its "
            "link, so give the platform's tokenised or gateway URL instead",
            "地址中含用户名或密码：能看到该摄像机的工作人员都能看到此地址，请改用平台的令牌地址或转发网关地址",
        )
    if scheme.startswith("http") and not parts.path.lower().endswith(".m3u8"):
        return FieldError(
            "stream_url",
            "an http(s) stream must be an HLS playlist whose path ends in .m3u8",
            "http(s) 视频流须为 HLS 播放列表，路径应以 .m3u8 结尾",
        )
    return None


def stream_protocol(url: str | None) -> str | None:
    """`rtsp` or `hls` for a stored stream URL."""
    if not url:
        return None
    return "rtsp" if url.lower().startswith("rtsp") else "hls"


def parse_status(text: str) -> str | FieldError:
    """A status from its English or Chinese word."""
    status = STATUS_WORDS.get(text.strip().lower())
    if status is None:
        return FieldError(
            "status",
            f"unknown status {text!r}: use online, offline or fault",
            f"未知状态 {text}：应为 在线（online）、离线（offline）或 故障（fault）",
        )
    return status


def coordinate_text(value: float) -> str:
    """A coordinate as the CSV export writes it: 7 decimals, not the float's 17 digits."""
    return f"{value:.{COORD_DECIMALS}f}"


def parse_seen_at(text: str) -> datetime | FieldError:
    """When the platform saw a status: an ISO 8601 time with a time zone (a bare local time is
    ambiguous, so it is refused rather than guessed)."""
    try:
        at = _DATETIME.validate_python(text)
    except ValidationError:
        return FieldError(
            "at",
            f"not a time {text!r}: use ISO 8601 with a time zone, e.g. 2026-11-29T10:15:00+08:00",
            f"时间格式有误 {text}：应为带时区的 ISO 8601 时间，如 2026-11-29T10:15:00+08:00",
        )
    if at.tzinfo is None or at.utcoffset() is None:
        return FieldError(
            "at", "give a time zone (e.g. +08:00 or Z)", "时间须带时区（如 +08:00 或 Z）"
        )
    return at


def _number(text: str, name: str) -> float | FieldError:
    try:
        value = float(text)
    except ValueError:
        return FieldError(name, f"{text!r} is not a number", f"{text} 不是数字")
    if not math.isfinite(value):
        return FieldError(name, "must be a finite number", "应为有限数字")
    return value


def _covers(principal: Principal, place: Place) -> bool:
    home = path_ids(principal.home_path)
    return len(home) <= 1 or home[-1] in (place.town_id, place.village_id, place.grid_id)


def check_camera(
    *,
    values: dict[str, str],
    locator: GridLocator,
    principal: Principal,
    divisions: Sequence[str],
) -> CameraInput | list[FieldError]:
    """One camera from text fields (an import row or an edit), or every reason it is refused."""
    errors: list[FieldError] = []
    code = values.get("code", "").strip()
    if not code:
        errors.append(FieldError("code", "missing", "缺少国标编码"))
    elif "e+" in code.lower():
        errors.append(
            FieldError(
                "code",
                f"{code!r} looks like a number a spreadsheet shortened: format the column as text",
                f"{code} 疑似被表格软件转成了科学计数法：请把该列设为文本格式",
            )
        )
    else:
        problem = check_camera_code(code, divisions)
        if problem is not None:
            errors.append(FieldError("code", problem.reason, problem.reason_zh))
    name = values.get("name", "").strip()
    if not name:
        errors.append(FieldError("name", "missing", "缺少名称"))
    elif len(name) > MAX_NAME:
        errors.append(FieldError("name", f"longer than {MAX_NAME} characters", "名称过长"))
    url = values.get("stream_url", "").strip()
    if not url:
        errors.append(FieldError("stream_url", "missing", "缺少视频流地址"))
    else:
        url_error = check_stream_url(url)
        if url_error is not None:
            errors.append(url_error)
    status: str | None = None
    if values.get("status", "").strip():
        parsed = parse_status(values["status"])
        if isinstance(parsed, FieldError):
            errors.append(parsed)
        else:
            status = parsed
    place_text = values.get("install_place", "").strip() or None
    if place_text is not None and len(place_text) > MAX_NAME:
        errors.append(FieldError("install_place", "longer than 200 characters", "安装位置过长"))
    crs = (values.get("crs", "").strip() or "wgs84").lower()
    lng = _number(values.get("lng", "").strip(), "lng")
    lat = _number(values.get("lat", "").strip(), "lat")
    place: Place | None = None
    for value in (lng, lat):
        if isinstance(value, FieldError):
            errors.append(value)
    if crs not in SUPPORTED_CRS:
        errors.append(
            FieldError(
                "crs",
                f"unknown CRS {crs!r}; use one of {', '.join(SUPPORTED_CRS)}",
                f"未知坐标系 {crs}；可选：{'、'.join(SUPPORTED_CRS)}",
            )
        )
    elif isinstance(lng, float) and isinstance(lat, float):
        try:
            place = locator.locate(lng, lat, crs)
        except Problem as problem:
            errors.extend(problem.errors)
        else:
            if not _covers(principal, place):
                errors.append(
                    FieldError(
                        "lat,lng",
                        f"the point lies in grid {place.grid_code}, outside your area",
                        f"该点位于网格 {place.grid_code}，超出您的管辖范围",
                    )
                )
    if errors or place is None:
        return errors
    return CameraInput(
        code=code,
        name=name,
        lat=place.lat,
        lng=place.lng,
        grid_id=place.grid_id,
        stream_url=url,
        status=status,
        install_place=place_text,
    )


def merged_props(old: dict[str, Any], camera: CameraInput) -> dict[str, Any]:
    """A feature's props with the camera's stream and place (other keys, e.g. vendor, kept)."""
    props = {k: v for k, v in old.items() if k not in ("stream_url", "install_place")}
    props["stream_url"] = camera.stream_url
    if camera.install_place:
        props["install_place"] = camera.install_place
    return props


def unchanged(stored: StoredCamera, camera: CameraInput) -> bool:
    """True when storing `camera` would change nothing."""
    return (
        stored.name == camera.name
        and round(stored.lat, COORD_DECIMALS) == round(camera.lat, COORD_DECIMALS)
        and round(stored.lng, COORD_DECIMALS) == round(camera.lng, COORD_DECIMALS)
        and stored.grid_id == camera.grid_id
        and stored.props == merged_props(stored.props, camera)
        and (camera.status is None or camera.status == stored.status)
    )

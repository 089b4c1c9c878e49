"""The base map setting: validation, the tile layers it gives the map, the image origins it adds
to the Content-Security-Policy (cached, dropped on change), and the local base's features."""

from __future__ import annotations

import gzip
import re
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import orjson
from sqlalchemy import Row, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from fengqiao.basemap.models import BaseFeature, BasemapSetting
from fengqiao.config import Settings
from fengqiao.errors import FieldError, invalid_fields
from fengqiao.org.models import OrgUnit

SETTING_ID = 1
DEFAULT_MAX_ZOOM = 18
TIANDITU_HOST = "tianditu.gov.cn"
TIANDITU_ORIGIN = f"https://*.{TIANDITU_HOST}"
# Tianditu's WMTS in Web Mercator (`_w`); `{layer}` is vec/cva (vector + labels) or img/cia
# (imagery + labels). The key travels in the URL, as Tianditu's browser keys are meant to.
TIANDITU_TEMPLATE = (
    "https://t{{s}}.tianditu.gov.cn/{layer}_w/wmts?SERVICE=WMTS&REQUEST=GetTile&VERSION=1.0.0"
    "&LAYER={layer}&STYLE=default&TILEMATRIXSET=w&FORMAT=tiles&TILEMATRIX={{z}}&TILEROW={{y}}"
    "&TILECOL={{x}}&tk={key}"
)
TIANDITU_KEY = re.compile(r"[0-9A-Za-z]{16,64}")
SUBDOMAINS = re.compile(r"[0-9A-Za-z]{1,16}")
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
_ALLOWED_PLACEHOLDERS = {"s", "z", "x", "y", "-y", "r"}
# Characters a tile URL never needs and that could break out of an attribute or a CSP source.
_FORBIDDEN = re.compile(r"[\s\"'<>\\^`|;,]")


@dataclass(frozen=True)
class TileSource:
    """One tile URL of a base layer (a base may stack two: Tianditu's map and its labels)."""

    url: str
    subdomains: str


@dataclass(frozen=True)
class BaseLayer:
    """A choice of the map's layer switcher."""

    id: str
    name: str
    crs: str  # "wgs84" or "gcj02": a GCJ-02 source's tiles are shifted onto the map
    max_zoom: int
    attribution: str
    tiles: tuple[TileSource, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "crs": self.crs,
            "max_zoom": self.max_zoom,
            "attribution": self.attribution,
            "tiles": [{"url": t.url, "subdomains": t.subdomains} for t in self.tiles],
        }


@dataclass(frozen=True)
class Basemap:
    """The setting in force: stored by an administrator, else the start-up settings."""

    provider: str
    url_template: str | None
    api_key: str | None
    attribution: str
    max_zoom: int
    subdomains: str
    source: str  # "stored", "settings" (FENGQIAO_BASEMAP_URL) or "default"
    updated_at: datetime | None = None


def check_template(url: str) -> str | None:
    """Why `url` is not a usable tile URL template (Chinese), or None when it is."""
    if not url.isascii():
        return "只能含英文字母、数字和符号（中文域名请填写其 xn-- 形式）"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port out of range)
    except ValueError:
        return "地址格式有误（主机名或端口无效）"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return "须以 http:// 或 https:// 开头并含主机名"
    if _FORBIDDEN.search(url):
        return "不能含空格、引号、尖括号、分号或逗号"
    names = set(_PLACEHOLDER.findall(url))
    unknown = names - _ALLOWED_PLACEHOLDERS
    if unknown:
        return "含不支持的占位符 " + "、".join("{" + n + "}" for n in sorted(unknown))
    if "z" not in names or "x" not in names or not names & {"y", "-y"}:
        return "不是瓦片地址模板：须含 {z}、{x} 和 {y} 三个占位符"
    if "{" in parts.hostname.split(".")[-1]:
        return "主机名的顶级域不能是占位符"
    return None


def tile_origin(url: str) -> str | None:
    """The CSP source a basemap's tiles come from: `https://t{s}.host/...` → `https://*.host`.

    None for no basemap or a basemap on this site ('self' covers it)."""
    if not url or url.startswith("/"):
        return None
    try:
        parts = urlsplit(url)
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return None  # not a URL (check_template refuses it before it is stored)
    host = parts.hostname or ""
    if not parts.scheme or not host or not url.isascii():
        return None
    labels = host.split(".")
    if any("{" in label for label in labels[1:]):
        return f"{parts.scheme}:"  # a placeholder past the first label: only the scheme holds
    if "{" in labels[0]:
        labels[0] = "*"  # Leaflet's {s} subdomains: CSP allows a wildcard leftmost label
    return f"{parts.scheme}://{'.'.join(labels)}{port}"


def key_hint(key: str | None) -> str | None:
    """What the admin page shows of a stored key: its last four characters."""
    if not key:
        return None
    return "••••" + key[-4:] if len(key) > 8 else "••••"


def current(*, db: Session, settings: Settings) -> Basemap:
    """The setting in force."""
    row = db.get(BasemapSetting, SETTING_ID)
    if row is not None:
        return Basemap(
            provider=row.provider, url_template=row.url_template, api_key=row.api_key,
            attribution=row.attribution or "", max_zoom=row.max_zoom,
            subdomains=row.subdomains or "abc", source="stored", updated_at=row.updated_at,
        )  # fmt: skip
    return current_from_settings(settings)


def current_from_settings(settings: Settings) -> Basemap:
    """The base before an administrator sets one."""
    if settings.basemap_url:
        # Before an administrator sets one, FENGQIAO_BASEMAP_URL (if any) is the base.
        return Basemap(
            provider="xyz", url_template=settings.basemap_url, api_key=None,
            attribution=settings.basemap_attribution, max_zoom=DEFAULT_MAX_ZOOM,
            subdomains="01234567" if TIANDITU_HOST in settings.basemap_url else "abc",
            source="settings",
        )  # fmt: skip
    return Basemap("local", None, None, "", DEFAULT_MAX_ZOOM, "abc", "default")


def save(
    *, db: Session, settings: Settings, values: dict[str, Any], user_id: int, now: datetime
) -> Basemap:
    """Validate and store the setting; every bad field is reported together, nothing is half
    stored. A Tianditu key left out keeps the stored one."""
    before = current(db=db, settings=settings)
    provider = values.get("provider") or before.provider
    template = values.get("url_template")
    key = values.get("api_key") or (before.api_key if provider == "tianditu" else None)
    errors: list[FieldError] = []
    if provider in ("xyz", "gcj02"):
        if not template:
            errors.append(
                FieldError("url_template", "a tile URL template is required", "请填写瓦片地址模板")
            )
        else:
            why = check_template(template)
            if why:
                errors.append(FieldError("url_template", "not a tile URL template", why))
    else:
        template = None
    if provider == "tianditu":
        if not key:
            errors.append(FieldError("api_key", "a Tianditu key is required", "请填写天地图密钥"))
        elif not TIANDITU_KEY.fullmatch(key):
            errors.append(
                FieldError(
                    "api_key", "16 to 64 letters or digits", "密钥应为 16 至 64 位字母或数字"
                )
            )
    subdomains = values.get("subdomains") or ("01234567" if provider == "tianditu" else "abc")
    if not SUBDOMAINS.fullmatch(subdomains):
        errors.append(
            FieldError("subdomains", "1 to 16 letters or digits", "应为 1 至 16 位字母或数字")
        )
    if errors:
        raise invalid_fields(errors)
    row = db.get(BasemapSetting, SETTING_ID)
    if row is None:
        row = BasemapSetting(id=SETTING_ID)
        db.add(row)
    row.provider = provider
    row.url_template = template
    row.api_key = key if provider == "tianditu" else None
    row.attribution = values.get("attribution") or ("天地图" if provider == "tianditu" else None)
    row.max_zoom = values.get("max_zoom") or DEFAULT_MAX_ZOOM
    row.subdomains = subdomains
    row.updated_at = now
    row.updated_by = user_id
    db.flush()
    return current(db=db, settings=settings)


def base_layers(basemap: Basemap) -> list[BaseLayer]:
    """The tile layers the map offers besides the local base, in the switcher's order."""
    if basemap.provider == "tianditu" and basemap.api_key:

        def tiles(*layers: str) -> tuple[TileSource, ...]:
            return tuple(
                TileSource(TIANDITU_TEMPLATE.format(layer=layer, key=basemap.api_key), "01234567")
                for layer in layers
            )

        return [
            BaseLayer("tianditu-vec", "天地图矢量", "wgs84", basemap.max_zoom,
                      basemap.attribution, tiles("vec", "cva")),
            BaseLayer("tianditu-img", "天地图影像", "wgs84", basemap.max_zoom,
                      basemap.attribution, tiles("img", "cia")),
        ]  # fmt: skip
    if basemap.provider in ("xyz", "gcj02") and basemap.url_template:
        gcj = basemap.provider == "gcj02"
        return [
            BaseLayer(
                basemap.provider, "高德底图" if gcj else "在线底图", "gcj02" if gcj else "wgs84",
                basemap.max_zoom, basemap.attribution,
                (TileSource(basemap.url_template, basemap.subdomains),),
            )
        ]  # fmt: skip
    return []


def image_origins(basemap: Basemap) -> tuple[str, ...]:
    """The img-src sources the base map's tiles need."""
    origins = []
    for layer in base_layers(basemap):
        for tile in layer.tiles:
            origin = tile_origin(tile.url)
            if origin and origin not in origins:
                origins.append(origin)
    return tuple(origins)


class BasemapCache:
    """The CSP's tile origins, read from the database at most every `seconds` and dropped at
    once when this process saves a new setting (other processes follow within `seconds`)."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._lock = threading.Lock()
        self._origins: tuple[str, ...] = ()
        self._read_at = float("-inf")

    def stale(self) -> bool:
        return time.monotonic() - self._read_at >= self.seconds

    def invalidate(self) -> None:
        with self._lock:
            self._read_at = float("-inf")

    def origins(self, *, db: Session, settings: Settings) -> tuple[str, ...]:
        if self.stale():
            with self._lock:
                if self.stale():
                    try:
                        basemap = current(db=db, settings=settings)
                    except SQLAlchemyError:
                        # No database yet (or not migrated): the start-up setting, so /healthz
                        # and the error pages still answer with their headers.
                        basemap = current_from_settings(settings)
                    self._origins = image_origins(basemap)
                    self._read_at = time.monotonic()
        return self._origins

    def peek(self) -> tuple[str, ...]:
        return self._origins


@dataclass(frozen=True)
class CachedBody:
    """A served GeoJSON body, raw and gzip-compressed, with its ETag."""

    raw: bytes
    zipped: bytes
    etag: str


class FeatureCache:
    """The local base's GeoJSON per area, built once and kept `seconds`: the features change
    only when the base is re-seeded or imported, and every map opening reads them."""

    def __init__(self, seconds: float, max_areas: int = 256) -> None:
        self.seconds = seconds
        self.max_areas = max_areas
        self._lock = threading.Lock()
        self._bodies: dict[str, tuple[float, CachedBody]] = {}

    def get(self, path: str, build: Callable[[], dict[str, Any]]) -> CachedBody:
        now = time.monotonic()
        held = self._bodies.get(path)
        if held is not None and now - held[0] < self.seconds:
            return held[1]
        raw = orjson.dumps(build())
        body = CachedBody(
            raw, gzip.compress(raw, compresslevel=5), f'W/"base-{zlib.crc32(raw):08x}"'
        )
        with self._lock:
            if len(self._bodies) >= self.max_areas:
                self._bodies.clear()
            self._bodies[path] = (now, body)
        return body


def area_box(*, db: Session, path: str) -> tuple[float, float, float, float] | None:
    """(min lng, min lat, max lng, max lat) of the org unit at `path`: its own box, else the
    box of the units under it (a unit stored without a boundary)."""
    columns = (OrgUnit.min_lng, OrgUnit.min_lat, OrgUnit.max_lng, OrgUnit.max_lat)
    own = db.execute(select(*columns).where(OrgUnit.path == path)).first()
    if own is not None:
        a, b, c, d = own
        if a is not None and b is not None and c is not None and d is not None:
            return (a, b, c, d)
    west, south, east, north = db.execute(
        select(
            func.min(OrgUnit.min_lng), func.min(OrgUnit.min_lat),
            func.max(OrgUnit.max_lng), func.max(OrgUnit.max_lat),
        ).where(OrgUnit.path.startswith(path, autoescape=True), OrgUnit.valid_to.is_(None))
    ).one()  # fmt: skip
    if west is None or south is None or east is None or north is None:
        return None
    return (west, south, east, north)


def features_in(*, db: Session, box: tuple[float, float, float, float]) -> list[Row[Any]]:
    """(id, kind, name, rank, geometry) of the features whose box meets `box`."""
    west, south, east, north = box
    return list(
        db.execute(
            select(
                BaseFeature.id,
                BaseFeature.kind,
                BaseFeature.name,
                BaseFeature.rank,
                BaseFeature.geometry,
            )
            .where(
                BaseFeature.min_lng <= east,
                BaseFeature.max_lng >= west,
                BaseFeature.min_lat <= north,
                BaseFeature.max_lat >= south,
            )
            .order_by(BaseFeature.id)
        ).all()
    )

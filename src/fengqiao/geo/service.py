"""Point → grid/village/town for the whole process, kept in step with the stored grids.

Each instance holds one `GridIndex` in memory. A change of grids bumps the `grids` counter in
the database; an instance compares it at most every `grid_index_check_seconds` and rebuilds
when it moved, so instances behind one load balancer agree within that span.
"""

from __future__ import annotations

import gzip
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from fengqiao.crs import SUPPORTED_CRS, UnknownCRS, to_wgs84
from fengqiao.errors import FieldError, Problem, invalid, invalid_fields
from fengqiao.geo.distance import Box
from fengqiao.geo.locator import GridIndex, GridShape
from fengqiao.geo.models import LayerFeature
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import GRIDS_COUNTER, read_counter
from fengqiao.scope import Principal

# Grid and outline layers kept per process: whole areas, and the boxes a province's map asks for.
GEOJSON_CACHE_ENTRIES = 256


@dataclass(frozen=True)
class Place:
    """Where a point lies: its grid, village and town, with codes and names."""

    lng: float
    lat: float
    grid_id: int
    grid_code: str
    grid_name: str
    village_id: int
    village_code: str
    village_name: str
    town_id: int
    town_code: str
    town_name: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "lng": self.lng,
            "lat": self.lat,
            "grid": {"id": self.grid_id, "code": self.grid_code, "name": self.grid_name},
            "village": {
                "id": self.village_id,
                "code": self.village_code,
                "name": self.village_name,
            },
            "town": {"id": self.town_id, "code": self.town_code, "name": self.town_name},
        }


@dataclass
class _Snapshot:
    index: GridIndex
    generation: int
    names: dict[int, tuple[str, str]]  # org unit id → (code, name)
    town_paths: dict[str, str]  # town code → path


def load_snapshot(db: Session) -> _Snapshot:
    """Read the live grids and build a fresh index over them."""
    generation = read_counter(db=db, name=GRIDS_COUNTER)
    names: dict[int, tuple[str, str]] = {}
    town_paths: dict[str, str] = {}
    for unit_id, code, name, kind, path in db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.kind, OrgUnit.path).where(
            OrgUnit.kind.in_(("town", "village")), OrgUnit.valid_to.is_(None)
        )
    ):
        names[unit_id] = (code, name)
        if kind == "town":
            town_paths[code] = path
    shapes = []
    for unit_id, code, name, path, geometry in db.execute(
        select(OrgUnit.id, OrgUnit.code, OrgUnit.name, OrgUnit.path, OrgUnit.geometry).where(
            OrgUnit.kind == "grid", OrgUnit.valid_to.is_(None), OrgUnit.geometry.is_not(None)
        )
    ):
        ids = [int(part) for part in path.strip("/").split("/")]
        names[unit_id] = (code, name)
        shapes.append(
            GridShape(
                grid_id=unit_id, code=code, village_id=ids[-2], town_id=ids[-3], geometry=geometry
            )
        )
    return _Snapshot(GridIndex.build(shapes), generation, names, town_paths)


class GridLocator:
    """The process's grid index, rebuilt when the stored grids change."""

    def __init__(self, check_seconds: float) -> None:
        self.check_seconds = check_seconds
        self._snapshot: _Snapshot | None = None
        self._checked_at = -math.inf
        self._lock = threading.Lock()
        self._geojson: dict[tuple[int, str], tuple[bytes, bytes]] = {}

    def needs_check(self) -> bool:
        return self._snapshot is None or time.monotonic() - self._checked_at >= self.check_seconds

    def refresh(self, db: Session, *, force: bool = False) -> _Snapshot:
        """Compare the stored counter and rebuild if it moved (or when forced)."""
        with self._lock:
            current = self._snapshot
            if current is not None and not force:
                generation = read_counter(db=db, name=GRIDS_COUNTER)
                if generation == current.generation:
                    self._checked_at = time.monotonic()
                    return current
            self._snapshot = load_snapshot(db)
            self._geojson.clear()
            self._checked_at = time.monotonic()
            return self._snapshot

    def invalidate(self) -> None:
        """Forget the index; the next use rebuilds it (call after this process changed grids)."""
        with self._lock:
            self._snapshot = None
            self._geojson.clear()

    @property
    def snapshot(self) -> _Snapshot:
        if self._snapshot is None:
            raise RuntimeError("grid index not loaded; call refresh() first")
        return self._snapshot

    def locate(self, lng: float, lat: float, crs: str = "wgs84") -> Place:
        """The place of a point, or a problem saying why there is none."""
        check_point(lng, lat, crs)
        try:
            wlng, wlat = to_wgs84(lng, lat, crs)
        except UnknownCRS as exc:  # check_point already refused unknown names
            raise invalid("crs", str(exc), "未知坐标系") from exc
        snapshot = self.snapshot
        hit = snapshot.index.locate(float(wlng), float(wlat))
        if hit is None:
            swapped = snapshot.index.locate(*map(float, to_wgs84(lat, lng, crs)))
            raise outside_district(lng, lat, swapped is not None)
        names = snapshot.names
        return Place(
            lng=float(wlng),
            lat=float(wlat),
            grid_id=hit.grid_id,
            grid_code=names[hit.grid_id][0],
            grid_name=names[hit.grid_id][1],
            village_id=hit.village_id,
            village_code=names[hit.village_id][0],
            village_name=names[hit.village_id][1],
            town_id=hit.town_id,
            town_code=names[hit.town_id][0],
            town_name=names[hit.town_id][1],
        )

    def cached_geojson(self, key: str, build: Any) -> tuple[int, bytes, bytes]:
        """(generation, JSON, gzipped JSON) of a grids layer, built once per generation."""
        generation = self.snapshot.generation
        entry = self._geojson.get((generation, key))
        if entry is None:
            raw = orjson.dumps(build())
            entry = (raw, gzip.compress(raw, compresslevel=6))
            while len(self._geojson) >= GEOJSON_CACHE_ENTRIES:  # boxes vary: oldest out first
                self._geojson.pop(next(iter(self._geojson)), None)
            self._geojson[(generation, key)] = entry
        return generation, entry[0], entry[1]


def check_point(lng: float, lat: float, crs: str) -> None:
    """Refuse NaN, out-of-range and unknown-CRS input with the field that is wrong."""
    errors: list[FieldError] = []
    if crs.lower() not in SUPPORTED_CRS:
        errors.append(
            FieldError(
                "crs",
                f"unknown CRS {crs!r}; use one of {', '.join(SUPPORTED_CRS)}",
                f"未知坐标系 {crs}；可选：{'、'.join(SUPPORTED_CRS)}",
            )
        )
    if not math.isfinite(lat) or not -90 <= lat <= 90:
        hint = (
            " (latitude and longitude swapped?)" if math.isfinite(lat) and abs(lat) <= 180 else ""
        )
        errors.append(
            FieldError(
                "lat",
                f"latitude must be a number from -90 to 90{hint}",
                "纬度须为 -90 到 90 之间的数字" + ("（经纬度是否颠倒？）" if hint else ""),
            )
        )
    if not math.isfinite(lng) or not -180 <= lng <= 180:
        errors.append(
            FieldError(
                "lng",
                "longitude must be a number from -180 to 180",
                "经度须为 -180 到 180 之间的数字",
            )
        )
    if errors:
        raise invalid_fields(errors)


def outside_district(lng: float, lat: float, swapped_inside: bool) -> Problem:
    if swapped_inside:
        reason = "the point is outside the district, but lies inside with lat and lng swapped"
        reason_zh = "该点不在本辖区内；经纬度互换后在辖区内，是否颠倒了经纬度？"
    else:
        reason = "the point lies in no grid of this district"
        reason_zh = "该点不在本辖区任何网格内"
    return Problem(
        422,
        "outside-district",
        "Point outside the district",
        "位置不在辖区内",
        f"({lng}, {lat}): {reason}",
        f"位置（经度 {lng}，纬度 {lat}）：{reason_zh}",
        [FieldError("lat,lng", reason, reason_zh)],
    )


def wgs84_point(lat: float, lng: float, crs: str) -> tuple[float, float]:
    """(lat, lng) in WGS-84 of a point given in `crs`, or a 422 naming what is wrong."""
    check_point(lng, lat, crs)
    x, y = to_wgs84(lng, lat, crs.lower())
    return float(y), float(x)


def org_path(db: Session, principal: Principal, code: str | None) -> str:
    """The path of org unit `code` (default: the caller's home); 403 outside the caller's scope."""
    if code is None:
        return principal.home_path
    path = db.scalar(select(OrgUnit.path).where(OrgUnit.code == code))
    if path is None:
        raise invalid("org", f"no org unit with code {code}", f"不存在编码为 {code} 的区划")
    principal.require_covers(path)
    return path


# --- map layers ---------------------------------------------------------------------------


def _features_under(path: str) -> Select[LayerFeature]:
    """Features whose grid lies under `path`; at the top of the tree, also those in no grid."""
    query = select(LayerFeature)
    if path.strip("/").count("/") == 0:  # the district: everything
        return query
    return query.join(OrgUnit, OrgUnit.id == LayerFeature.grid_id).where(
        OrgUnit.path.startswith(path, autoescape=True)
    )


def layer_features(
    *, db: Session, kind: str, path: str, box: Box | None = None
) -> list[LayerFeature]:
    """The features of one layer under `path`, optionally inside `box` (south, north, west,
    east), in id order."""
    query = _features_under(path).where(LayerFeature.kind == kind)
    if box is not None:
        south, north, west, east = box
        query = query.where(
            LayerFeature.lat.between(south, north), LayerFeature.lng.between(west, east)
        )
    return list(db.scalars(query.order_by(LayerFeature.id)))

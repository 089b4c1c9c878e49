"""The camera registry: lists, one camera, an operator's edit, statuses pushed by the video
platform, and the cameras nearest to a point.

A camera is a `layer_feature` of kind `camera` (code, name, point, grid, `props.stream_url`,
`props.install_place`) plus its `camera` row (status, last seen). Nothing here deletes a camera,
and a refused change never touches what is stored. The CSV import is in `importer`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, func, insert, or_, select, update
from sqlalchemy.orm import Session

from fengqiao.cameras.checks import (
    RowError,
    StoredCamera,
    check_camera,
    merged_props,
    parse_seen_at,
    parse_status,
    stream_protocol,
    unchanged,
)
from fengqiao.cameras.codes import camera_type
from fengqiao.cameras.index import CAMERAS_COUNTER, CameraLocator, path_ids
from fengqiao.cameras.models import CAMERA_STATUS_ZH, Camera
from fengqiao.errors import FieldError, Problem, invalid, not_found
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator
from fengqiao.org.models import OrgUnit
from fengqiao.org.service import bump_counter
from fengqiao.playback import Playback, PlaybackTemplate
from fengqiao.scope import Principal

# Radius of a nearest search when the caller names none, and the most it may ask for.
DEFAULT_RADIUS_M = 1_000.0
MAX_RADIUS_M = 5_000.0
_CHUNK = 500

# --- reading ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CameraRecord:
    """One camera as the API shows it."""

    id: int
    code: str
    name: str
    lat: float
    lng: float
    stream_url: str | None
    install_place: str | None
    status: str
    last_seen_at: datetime | None
    status_at: datetime | None
    updated_at: datetime | None
    grid_id: int | None
    grid_code: str | None
    grid_name: str | None

    @property
    def type(self) -> str:
        return camera_type(self.code)

    @property
    def protocol(self) -> str | None:
        return stream_protocol(self.stream_url)

    @property
    def status_zh(self) -> str:
        return CAMERA_STATUS_ZH.get(self.status, self.status)

    def playback(self, template: PlaybackTemplate | None) -> Playback | None:
        """Where a browser plays the camera: its own HLS playlist when it has one (the
        per-camera override), else the gateway template's URL for its id, else nowhere."""
        if self.stream_url and self.protocol == "hls":
            return Playback(self.stream_url, "hls")
        if template is None:
            return None
        return template.render(gb_id=self.code, camera_id=self.id)


def _records() -> Select[Any]:
    return _rows().where(LayerFeature.kind == "camera")


def _rows() -> Select[Any]:
    return (
        select(
            LayerFeature.id, LayerFeature.code, LayerFeature.name, LayerFeature.lat,
            LayerFeature.lng, LayerFeature.props, Camera.status, Camera.last_seen_at,
            Camera.status_at, Camera.updated_at, LayerFeature.grid_id,
            OrgUnit.code.label("grid_code"), OrgUnit.name.label("grid_name"),
        )
        .outerjoin(Camera, Camera.feature_id == LayerFeature.id)
        .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
    )  # fmt: skip


def rows_by_id(ids: Sequence[int]) -> Select[Any]:
    """The cameras with these feature ids (found by the index), read by primary key: with a
    `kind` filter as well, SQLite's planner scanned the 30,000 cameras through the (kind, lat)
    index instead (15 ms instead of 0.1 ms)."""
    return _rows().where(LayerFeature.id.in_(list(ids)))


def _record(row: Any) -> CameraRecord:
    props = row.props or {}
    return CameraRecord(
        id=row.id, code=row.code, name=row.name, lat=row.lat, lng=row.lng,
        stream_url=props.get("stream_url"), install_place=props.get("install_place"),
        status=row.status or "offline", last_seen_at=row.last_seen_at, status_at=row.status_at,
        updated_at=row.updated_at, grid_id=row.grid_id, grid_code=row.grid_code,
        grid_name=row.grid_name,
    )  # fmt: skip


def _under(query: Any, path: str) -> Any:
    """Cameras whose grid lies under `path`; at the district, also those in no grid."""
    if len(path_ids(path)) <= 1:
        return query
    return query.where(OrgUnit.path.startswith(path, autoescape=True))


def list_cameras(
    *,
    db: Session,
    path: str,
    status: str | None = None,
    text: str | None = None,
    offset: int = 0,
    limit: int | None = 50,
) -> tuple[list[CameraRecord], int]:
    """Cameras under `path` in code order, filtered by status and by words of the name or id,
    with the number that match."""
    query = _under(_records(), path)
    if status is not None:
        query = query.where(Camera.status == status)
    if text:
        query = query.where(
            or_(
                LayerFeature.name.contains(text, autoescape=True),
                LayerFeature.code.contains(text, autoescape=True),
            )
        )
    total = db.scalar(select(func.count()).select_from(query.subquery())) or 0
    query = query.order_by(LayerFeature.code).offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return [_record(r) for r in db.execute(query)], total


def get_camera(*, db: Session, principal: Principal, code: str) -> CameraRecord:
    """One camera by its GB/T 28181 id: 404 when there is none, 403 outside the caller's area."""
    row = db.execute(
        _records().add_columns(OrgUnit.path).where(LayerFeature.code == code)
    ).one_or_none()
    if row is None:
        raise not_found(f"camera {code}", f"摄像机 {code}")
    _require_covers(principal, row.path)
    return _record(row)


def _require_covers(principal: Principal, grid_path: str | None) -> None:
    if grid_path is None:  # a camera in no grid belongs to the district
        if len(path_ids(principal.home_path)) > 1:
            principal.require_covers("/")
        return
    principal.require_covers(grid_path)


def layer_props(*, db: Session, path: str) -> dict[int, dict[str, Any]]:
    """feature id → the registry's status and last-seen time of the cameras under `path`, the
    props the map layer adds to each camera point (installed by app.py for geo's layer route)."""
    query = (
        select(Camera.feature_id, Camera.status, Camera.last_seen_at)
        .join(LayerFeature, LayerFeature.id == Camera.feature_id)
        .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
    )
    return {
        fid: {"status": status, "last_seen_at": seen.isoformat() if seen is not None else None}
        for fid, status, seen in db.execute(_under(query, path))
    }


@dataclass(frozen=True)
class NearbyCamera:
    camera: CameraRecord
    distance_m: float


def nearest_cameras(
    *,
    db: Session,
    cameras: CameraLocator,
    path: str,
    lat: float,
    lng: float,
    limit: int,
    radius_m: float,
) -> list[NearbyCamera]:
    """The `limit` cameras under `path` nearest to a WGS-84 point within `radius_m`, nearest
    first: the process's index finds them, one query by primary key reads what they are now."""
    hits = cameras.index(db).nearest(lat, lng, limit=limit, radius_m=radius_m, scope=path_ids(path))
    if not hits:
        return []
    rows = {r.id: _record(r) for r in db.execute(rows_by_id([i for i, _ in hits]))}
    # A camera deleted since the index was built is left out.
    return [NearbyCamera(rows[i], metres) for i, metres in hits if i in rows]


# --- changes ----------------------------------------------------------------------------------


def update_camera(
    *,
    db: Session,
    principal: Principal,
    code: str,
    changes: dict[str, Any],
    locator: GridLocator,
    now: datetime,
) -> CameraRecord:
    """Change a camera's name, point, stream, place or status (an operator's edit); the fields
    not given keep their values. A status change is stamped; `online` also counts as seen."""
    principal.require_role("admin", "operator")
    current = get_camera(db=db, principal=principal, code=code)
    if ("lat" in changes) != ("lng" in changes):
        raise invalid("lat,lng", "give both lat and lng", "经纬度须同时给出")
    values = {
        "code": current.code,
        "name": str(changes.get("name", current.name)),
        "lat": str(changes.get("lat", current.lat)),
        "lng": str(changes.get("lng", current.lng)),
        "crs": str(changes.get("crs") or "wgs84") if "lat" in changes else "wgs84",
        "stream_url": str(changes.get("stream_url", current.stream_url or "")),
        "status": str(changes.get("status") or ""),
        "install_place": str(changes.get("install_place", current.install_place) or ""),
    }
    checked = check_camera(values=values, locator=locator, principal=principal, divisions=())
    if isinstance(checked, list):
        raise Problem(
            422, "invalid-input", "Invalid input", "输入有误",
            "; ".join(f"{e.field}: {e.reason}" for e in checked),
            "；".join(f"{e.field}：{e.reason_zh}" for e in checked),
            checked,
        )  # fmt: skip
    if checked.stream_url != current.stream_url:
        owner = db.scalar(
            select(LayerFeature.code).where(
                LayerFeature.kind == "camera",
                LayerFeature.code != code,
                LayerFeature.props["stream_url"].as_string() == checked.stream_url,
            )
        )
        if owner is not None:
            raise invalid(
                "stream_url",
                f"duplicate: camera {owner} already has this stream",
                f"重复：已登记的摄像机 {owner} 使用同一视频流地址",
                status=409,
            )
    stored = _stored_camera(db, current.id)
    moved = not unchanged(stored, checked)
    db.execute(
        update(LayerFeature)
        .where(LayerFeature.id == current.id)
        .values(
            name=checked.name, lat=checked.lat, lng=checked.lng, grid_id=checked.grid_id,
            props=merged_props(stored.props, checked),
        )
    )  # fmt: skip
    _set_status(db, current.id, stored.status, checked.status, now, now)
    if moved:
        bump_counter(db=db, name=CAMERAS_COUNTER)
    db.flush()
    return get_camera(db=db, principal=principal, code=code)


def _stored_camera(db: Session, feature_id: int) -> StoredCamera:
    row = db.execute(
        select(
            LayerFeature.id, LayerFeature.kind, LayerFeature.name, LayerFeature.lat,
            LayerFeature.lng, LayerFeature.grid_id, LayerFeature.props, Camera.status,
        )
        .outerjoin(Camera, Camera.feature_id == LayerFeature.id)
        .where(LayerFeature.id == feature_id)
    ).one()  # fmt: skip
    return StoredCamera(
        row.id, row.kind, row.name, row.lat, row.lng, row.grid_id, row.props or {}, row.status
    )


def _status_values(old: str | None, new: str | None, at: datetime, now: datetime) -> dict[str, Any]:
    """The camera row's new values when `new` is reported at `at` over `old`."""
    values: dict[str, Any] = {"updated_at": now}
    if new is not None and new != old:
        values |= {"status": new, "status_at": at}
    if new == "online":
        values["last_seen_at"] = at
    return values


def _write_statuses(db: Session, changes: dict[int, dict[str, Any]], missing: set[int]) -> None:
    """Store camera rows' new values (feature id → values): executemany per set of columns;
    features without a registry row get one."""
    if missing:
        db.execute(
            insert(Camera),
            [
                {"status": "offline", **changes.pop(fid), "feature_id": fid}
                for fid in sorted(missing)
            ],
        )
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for fid, values in changes.items():
        params = {"b_fid": fid} | {f"b_{column}": value for column, value in values.items()}
        groups.setdefault(tuple(sorted(values)), []).append(params)
    for columns, rows in groups.items():
        statement = (
            update(Camera)
            .where(Camera.feature_id == bindparam("b_fid"))
            .values({column: bindparam(f"b_{column}") for column in columns})
        )
        db.connection().execute(statement, rows)


def _set_status(
    db: Session, feature_id: int, old: str | None, new: str | None, at: datetime, now: datetime
) -> None:
    missing = {feature_id} if old is None else set()
    _write_statuses(db, {feature_id: _status_values(old, new, at, now)}, missing)


@dataclass(frozen=True)
class StatusIn:
    code: str
    status: str
    at: str | None = None  # ISO 8601 with a time zone, checked entry by entry


@dataclass
class StatusReport:
    """What a status push changed: counts, and the entries refused with why."""

    received: int = 0
    changed: int = 0
    unchanged: int = 0
    stale: int = 0
    refused: list[RowError] = field(default_factory=list)


def report_statuses(
    *, db: Session, principal: Principal, reports: Sequence[StatusIn], now: datetime
) -> StatusReport:
    """Statuses pushed by the video platform, in bulk. Each entry changes its camera's status
    (stamped `at`, default now; `online` also counts as seen); a report older than the stored
    status change is stale and ignored; unknown ids, unknown words, times in the future and
    cameras outside the caller's area are refused entry by entry (index = row, from 1)."""
    principal.require_role("admin", "operator", "device")
    result = StatusReport(received=len(reports))
    codes = sorted({r.code for r in reports})
    found: dict[str, Any] = {}  # code → row
    for start in range(0, len(codes), _CHUNK):
        chunk = codes[start : start + _CHUNK]
        for stored in db.execute(
            select(
                LayerFeature.code, LayerFeature.id, OrgUnit.path, Camera.status, Camera.status_at
            )
            .outerjoin(Camera, Camera.feature_id == LayerFeature.id)
            .outerjoin(OrgUnit, OrgUnit.id == LayerFeature.grid_id)
            .where(LayerFeature.kind == "camera", LayerFeature.code.in_(chunk))
        ):
            found[str(stored.code)] = stored
    latest: dict[int, tuple[str | None, datetime | None]] = {}
    changes: dict[int, dict[str, Any]] = {}
    missing: set[int] = set()
    for number, report in enumerate(reports, start=1):
        row = found.get(report.code)
        status = parse_status(report.status)
        at = now if report.at is None else parse_seen_at(report.at)
        error: FieldError | None = None
        if row is None:
            error = FieldError("code", "no camera with this id", "没有该编码的摄像机")
        elif isinstance(status, FieldError):
            error = status
        elif isinstance(at, FieldError):
            error = at
        elif (at - now).total_seconds() > 300:
            error = FieldError("at", "in the future", "时间晚于当前时间")
        elif row.path is not None and not principal.covers(row.path):
            error = FieldError("code", "outside your area", "超出您的管辖范围")
        if (
            error is not None
            or row is None
            or isinstance(status, FieldError)
            or isinstance(at, FieldError)
        ):
            if error is not None:
                result.refused.append(
                    RowError(number, report.code, error.field, error.reason, error.reason_zh)
                )
            continue
        old_status, old_at = latest.get(row.id, (row.status, row.status_at))
        if old_at is not None and at < old_at:
            result.stale += 1
            continue
        if status == old_status and status != "online":
            result.unchanged += 1
        else:
            result.changed += 1
        # Several reports of one camera fold into one write, the latest values winning.
        changes[row.id] = changes.get(row.id, {}) | _status_values(old_status, status, at, now)
        if row.status is None:
            missing.add(row.id)
        latest[row.id] = (status, at if status != old_status else old_at)
    # One executemany per set of columns: 30,000 statuses took 40 s as single UPDATEs.
    _write_statuses(db, changes, missing)
    db.flush()
    return result

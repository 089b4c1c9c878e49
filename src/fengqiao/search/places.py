"""CSV import of places (points of interest): hospitals, schools, enterprises, … with their
address. A place is a map-layer point (`layer_feature`, its address in `props.address`), so the
map's layers show what the search box finds. A row is matched to a stored place by kind and
name: a match is updated, the rest created; bad rows are reported by row, field and reason and
store nothing; `dry_run` writes nothing at all."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.errors import Problem, invalid
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator

COLUMNS = ("kind", "name", "address", "lng", "lat", "crs")
REQUIRED = ("kind", "name", "lng", "lat")
HEADER_ALIASES = {
    "类别": "kind", "类型": "kind", "名称": "name", "地址": "address", "经度": "lng",
    "纬度": "lat", "坐标系": "crs",
}  # fmt: skip
MAX_ROWS = 20_000
MAX_NAME = 100
MAX_ADDRESS = 200


@dataclass(frozen=True)
class PlaceRowError:
    """One reason a row was refused."""

    row: int  # as a spreadsheet numbers it: the header is row 1
    field: str
    reason: str
    reason_zh: str


@dataclass
class PlaceImport:
    """What an import did (or, with dry_run, would do)."""

    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    refused: int = 0
    errors: list[PlaceRowError] = field(default_factory=list)


def _header(names: list[str], kinds: dict[str, str]) -> list[str]:
    header = [HEADER_ALIASES.get(n.strip(), n.strip().lower()) for n in names]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise invalid(
            "file",
            f"the header lacks the columns {', '.join(missing)}",
            f"表头缺少列：{'、'.join(missing)}",
        )
    return header


def _kind(value: str, kinds: dict[str, str]) -> str | None:
    value = value.strip()
    if value in kinds:
        return value
    return next((code for code, word in kinds.items() if word == value), None)


def _number(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def import_places(
    *,
    db: Session,
    text: str,
    locator: GridLocator,
    kinds: dict[str, str],
    dry_run: bool = False,
) -> PlaceImport:
    """Create or update places from CSV text (see the module)."""
    reader = csv.reader(io.StringIO(text))
    first = next(reader, None)
    if first is None:
        raise invalid("file", "the file is empty", "文件为空")
    header = _header(first, kinds)
    report = PlaceImport(dry_run=dry_run)
    stored = {
        (row.kind, row.name): row
        for row in db.scalars(select(LayerFeature).where(LayerFeature.kind.in_(list(kinds))))
    }
    for number, values in enumerate(reader, start=2):
        if not any(v.strip() for v in values):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            raise invalid("file", f"at most {MAX_ROWS} rows", f"最多 {MAX_ROWS} 行")
        row = dict(zip(header, (v.strip() for v in values), strict=False))
        error = _check(row, number, kinds)
        if error is None:
            error, place = _placed(row, number, locator)
        if error is not None:
            report.refused += 1
            report.errors.append(error)
            continue
        kind = _kind(row["kind"], kinds) or ""
        grid_id, lng, lat = place
        props = {"address": row.get("address", "")}
        existing = stored.get((kind, row["name"]))
        if existing is None:
            feature = LayerFeature(
                kind=kind, name=row["name"], lng=lng, lat=lat, grid_id=grid_id, props=props
            )
            stored[(kind, row["name"])] = feature
            report.created += 1
            if not dry_run:
                db.add(feature)
        else:
            report.updated += 1
            if not dry_run:
                existing.lng, existing.lat, existing.grid_id = lng, lat, grid_id
                existing.props = {**(existing.props or {}), **props}
    if not dry_run:
        db.flush()
    return report


def _check(row: dict[str, str], number: int, kinds: dict[str, str]) -> PlaceRowError | None:
    if _kind(row.get("kind", ""), kinds) is None:
        return PlaceRowError(
            number, "kind", f"kind must be one of {', '.join(kinds)}",
            f"类别须为：{'、'.join(kinds.values())}",
        )  # fmt: skip
    name = row.get("name", "")
    if not name or len(name) > MAX_NAME:
        return PlaceRowError(
            number, "name", f"1 to {MAX_NAME} characters", f"名称须为 1 至 {MAX_NAME} 个字"
        )
    for column, zh in (("name", "名称"), ("address", "地址")):
        if any(ord(c) < 32 or ord(c) == 127 for c in row.get(column, "")):
            return PlaceRowError(number, column, "no control characters", f"{zh}不能包含控制字符")
    if len(row.get("address", "")) > MAX_ADDRESS:
        return PlaceRowError(
            number, "address", f"at most {MAX_ADDRESS} characters", f"地址最多 {MAX_ADDRESS} 个字"
        )
    for column, zh in (("lng", "经度"), ("lat", "纬度")):
        if _number(row.get(column, "")) is None:
            return PlaceRowError(number, column, "not a number", f"{zh}不是数字")
    return None


def _placed(
    row: dict[str, str], number: int, locator: GridLocator
) -> tuple[PlaceRowError | None, tuple[int, float, float]]:
    """The grid of the row's point (and its WGS-84 coordinates), or why there is none."""
    lng, lat = float(row["lng"]), float(row["lat"])
    try:
        place = locator.locate(lng, lat, (row.get("crs") or "wgs84").lower())
    except Problem as problem:
        reason = problem.errors[0] if problem.errors else None
        return PlaceRowError(
            number, reason.field if reason else "lng",
            reason.reason if reason else problem.detail or "outside the district",
            reason.reason_zh if reason else problem.detail_zh or "不在本区范围内",
        ), (0, 0.0, 0.0)  # fmt: skip
    return None, (place.grid_id, place.lng, place.lat)

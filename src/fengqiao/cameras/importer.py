"""CSV import of cameras: good rows created or updated (by GB/T 28181 id), bad rows reported with
their row number, field and reason and stored nothing; `dry_run` writes nothing at all."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from fengqiao.cameras.checks import (
    CameraInput,
    RowError,
    StoredCamera,
    check_camera,
    merged_props,
    unchanged,
)
from fengqiao.cameras.index import CAMERAS_COUNTER
from fengqiao.cameras.models import Camera
from fengqiao.errors import FieldError, Problem, invalid
from fengqiao.geo.models import LayerFeature
from fengqiao.geo.service import GridLocator
from fengqiao.org.service import bump_counter
from fengqiao.scope import Principal

# The import's columns; the first five are required. Chinese headers are accepted too.
COLUMNS = ("code", "name", "lng", "lat", "crs", "stream_url", "status", "install_place")
REQUIRED_COLUMNS = ("code", "name", "lng", "lat", "stream_url")
HEADER_ALIASES = {
    "编码": "code", "国标编码": "code", "名称": "name", "经度": "lng", "纬度": "lat",
    "坐标系": "crs", "视频流地址": "stream_url", "视频流": "stream_url", "状态": "status",
    "安装位置": "install_place",
}  # fmt: skip
MAX_IMPORT_BYTES = 20 * 1024 * 1024
_CHUNK = 500


@dataclass
class ImportReport:
    """What an import did (or, with dry_run, would do)."""

    dry_run: bool
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    refused: int = 0
    errors: list[RowError] = field(default_factory=list)
    ignored_columns: list[str] = field(default_factory=list)


# --- import -----------------------------------------------------------------------------------


def too_large() -> Problem:
    """The refusal of a file over `MAX_IMPORT_BYTES`."""
    return invalid(
        "file",
        f"larger than {MAX_IMPORT_BYTES // (1024 * 1024)} MiB: split it",
        f"文件超过 {MAX_IMPORT_BYTES // (1024 * 1024)} MiB，请分批导入",
        status=413,
    )


def decode_csv(data: bytes) -> str:
    """The text of an uploaded CSV: UTF-8 (with or without Excel's BOM) or GB 18030."""
    if not data.strip():
        raise invalid("file", "the file is empty", "文件为空")
    if len(data) > MAX_IMPORT_BYTES:
        raise too_large()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise invalid(
        "file", "neither UTF-8 nor GB 18030 text", "文件既不是 UTF-8 也不是 GB18030 编码的文本"
    )


def stored_cameras(db: Session) -> dict[str, StoredCamera]:
    rows = db.execute(
        select(
            LayerFeature.id, LayerFeature.kind, LayerFeature.code, LayerFeature.name,
            LayerFeature.lat, LayerFeature.lng, LayerFeature.grid_id, LayerFeature.props,
            Camera.status,
        )
        .outerjoin(Camera, Camera.feature_id == LayerFeature.id)
        .where(LayerFeature.code.is_not(None), LayerFeature.kind == "camera")
    )  # fmt: skip
    return {
        r.code: StoredCamera(r.id, r.kind, r.name, r.lat, r.lng, r.grid_id, r.props or {}, r.status)
        for r in rows
    }


def _other_kinds(db: Session, codes: Sequence[str]) -> dict[str, str]:
    """code → kind of the features among `codes` that are not cameras."""
    found: dict[str, str] = {}
    for start in range(0, len(codes), _CHUNK):
        chunk = list(codes[start : start + _CHUNK])
        for code, kind in db.execute(
            select(LayerFeature.code, LayerFeature.kind).where(
                LayerFeature.code.in_(chunk), LayerFeature.kind != "camera"
            )
        ):
            found[str(code)] = kind
    return found


def import_cameras(
    *,
    db: Session,
    text: str,
    locator: GridLocator,
    principal: Principal,
    divisions: Sequence[str],
    now: datetime,
    dry_run: bool = False,
) -> ImportReport:
    """Create or update (by GB/T 28181 id) the cameras of a CSV; every bad row is refused with
    its row number, field and reason and stored nothing; with `dry_run` nothing is written."""
    principal.require_role("admin")
    report = ImportReport(dry_run=dry_run)
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise invalid("file", "the file is empty", "文件为空") from None
    except csv.Error as exc:
        raise invalid("file", f"not CSV: {exc}", "不是有效的 CSV 文件") from None
    names = [HEADER_ALIASES.get(h.strip(), h.strip().lower()) for h in header]
    missing = [c for c in REQUIRED_COLUMNS if c not in names]
    if missing:
        raise invalid(
            "file",
            f"missing columns: {', '.join(missing)} (columns: {', '.join(COLUMNS)})",
            f"缺少列：{'、'.join(missing)}（列依次为：{', '.join(COLUMNS)}）",
        )
    report.ignored_columns = [h for h, n in zip(header, names, strict=True) if n not in COLUMNS]
    stored = stored_cameras(db)
    owner_of_url = {s.props.get("stream_url"): code for code, s in stored.items()}
    first_row: dict[str, int] = {}
    first_url: dict[str, int] = {}
    good: list[tuple[int, CameraInput]] = []
    refused_rows: set[int] = set()

    def refuse(row: int, code: str, errors: Sequence[FieldError]) -> None:
        refused_rows.add(row)
        report.errors.extend(RowError(row, code, e.field, e.reason, e.reason_zh) for e in errors)

    try:
        for row, fields in enumerate(reader, start=2):
            if not any(f.strip() for f in fields):
                continue  # blank lines, as spreadsheets leave them at the end
            report.rows += 1
            code = fields[names.index("code")].strip() if len(fields) > names.index("code") else ""
            if len(fields) != len(header):
                refuse(row, code, [FieldError(
                    "row",
                    f"{len(fields)} fields, but the header has {len(header)}",
                    f"本行有 {len(fields)} 列，表头有 {len(header)} 列",
                )])  # fmt: skip
                continue
            values = {n: v for n, v in zip(names, fields, strict=True) if n in COLUMNS}
            checked = check_camera(
                values=values, locator=locator, principal=principal, divisions=divisions
            )
            if isinstance(checked, list):
                refuse(row, code, checked)
                continue
            duplicates: list[FieldError] = []
            if checked.code in first_row:
                duplicates.append(FieldError(
                    "code",
                    f"duplicate: the same id is in row {first_row[checked.code]}",
                    f"重复：与第 {first_row[checked.code]} 行编码相同",
                ))  # fmt: skip
            if checked.stream_url in first_url:
                duplicates.append(FieldError(
                    "stream_url",
                    f"duplicate: the same stream is in row {first_url[checked.stream_url]}",
                    f"重复：与第 {first_url[checked.stream_url]} 行视频流地址相同",
                ))  # fmt: skip
            owner = owner_of_url.get(checked.stream_url)
            if owner is not None and owner != checked.code:
                duplicates.append(FieldError(
                    "stream_url",
                    f"duplicate: camera {owner} already has this stream",
                    f"重复：已登记的摄像机 {owner} 使用同一视频流地址",
                ))  # fmt: skip
            first_row.setdefault(checked.code, row)
            first_url.setdefault(checked.stream_url, row)
            if duplicates:
                refuse(row, checked.code, duplicates)
                continue
            good.append((row, checked))
    except csv.Error as exc:
        raise invalid(
            "file", f"not CSV near line {reader.line_num}: {exc}", "不是有效的 CSV 文件"
        ) from None

    others = _other_kinds(db, [c.code for _row, c in good if c.code not in stored])
    creates: list[CameraInput] = []
    updates: list[tuple[StoredCamera, CameraInput]] = []
    for row, camera in good:
        if camera.code in others:
            kind = others[camera.code]
            refuse(row, camera.code, [FieldError(
                "code",
                f"the id belongs to a map feature of kind {kind}, not a camera",
                f"该编码已被其他图层要素（{kind}）占用，不是摄像机",
            )])  # fmt: skip
        elif camera.code not in stored:
            creates.append(camera)
        elif unchanged(stored[camera.code], camera):
            report.unchanged += 1
        else:
            updates.append((stored[camera.code], camera))
    report.created, report.updated = len(creates), len(updates)
    report.refused = len(refused_rows)
    report.errors.sort(key=lambda e: e.row)
    if not dry_run and (creates or updates):
        _write(db, creates, updates, now)
    return report


def _write(
    db: Session,
    creates: Sequence[CameraInput],
    updates: Sequence[tuple[StoredCamera, CameraInput]],
    now: datetime,
) -> None:
    # Core executemany: an import of the whole district is 30,000 rows.
    if creates:
        db.execute(
            insert(LayerFeature),
            [
                {
                    "kind": "camera", "code": c.code, "name": c.name, "lat": c.lat, "lng": c.lng,
                    "grid_id": c.grid_id, "props": merged_props({}, c),
                }
                for c in creates
            ],
        )  # fmt: skip
        ids = _ids_of(db, [c.code for c in creates])
        db.execute(
            insert(Camera),
            [
                {
                    "feature_id": ids[c.code], "status": c.status or "offline",
                    "status_at": now if c.status else None, "updated_at": now,
                }
                for c in creates
            ],
        )  # fmt: skip
    if updates:
        db.execute(
            update(LayerFeature),
            [
                {
                    "id": s.id, "name": c.name, "lat": c.lat, "lng": c.lng, "grid_id": c.grid_id,
                    "props": merged_props(s.props, c),
                }
                for s, c in updates
            ],
        )  # fmt: skip
        missing = [s.id for s, _c in updates if s.status is None]
        if missing:  # a camera feature stored without its registry row gets one
            db.execute(
                insert(Camera),
                [{"feature_id": i, "status": "offline", "updated_at": now} for i in missing],
            )
        moved = [(s, c) for s, c in updates if c.status is not None and c.status != s.status]
        kept = [s for s, c in updates if c.status is None or c.status == s.status]
        if moved:
            db.execute(
                update(Camera),
                [
                    {"feature_id": s.id, "status": c.status, "status_at": now, "updated_at": now}
                    for s, c in moved
                ],
            )
        if kept:
            db.execute(update(Camera), [{"feature_id": s.id, "updated_at": now} for s in kept])
    bump_counter(db=db, name=CAMERAS_COUNTER)
    db.flush()


def _ids_of(db: Session, codes: Sequence[str]) -> dict[str, int]:
    ids: dict[str, int] = {}
    for start in range(0, len(codes), _CHUNK):
        chunk = list(codes[start : start + _CHUNK])
        for code, feature_id in db.execute(
            select(LayerFeature.code, LayerFeature.id).where(LayerFeature.code.in_(chunk))
        ):
            ids[str(code)] = feature_id
    return ids

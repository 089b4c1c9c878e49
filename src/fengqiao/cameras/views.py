"""The camera registry's routes: list (and CSV), one camera, an operator's edit, statuses from
the video platform, the CSV import, and the cameras nearest to a point."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from fengqiao.cameras import service
from fengqiao.cameras.checks import coordinate_text
from fengqiao.cameras.importer import (
    COLUMNS,
    MAX_IMPORT_BYTES,
    decode_csv,
    import_cameras,
    too_large,
)
from fengqiao.cameras.index import CameraLocator
from fengqiao.cameras.models import CAMERA_STATUSES
from fengqiao.cameras.schemas import (
    CameraEdit,
    CameraImportOut,
    CameraOut,
    GridRef,
    NearbyCameraOut,
    RowErrorOut,
    StatusPush,
    StatusReportOut,
)
from fengqiao.crs import SUPPORTED_CRS
from fengqiao.deps import (
    AppClock,
    AppDatabase,
    AppSettings,
    CurrentPrincipal,
    DbSession,
    WriteSession,
)
from fengqiao.errors import Problem, invalid
from fengqiao.exports import csv_download, stamped
from fengqiao.geo.deps import Locator
from fengqiao.geo.service import org_path, wgs84_point
from fengqiao.org.models import OrgUnit
from fengqiao.paging import Page, Paging
from fengqiao.playback import PlaybackTemplate, template_of
from fengqiao.scope import STAFF_ROLES

router = APIRouter(tags=["cameras"])


async def get_camera_locator(request: Request) -> CameraLocator:
    cameras: CameraLocator = request.app.state.cameras
    return cameras


Cameras = Annotated[CameraLocator, Depends(get_camera_locator)]


def playback_template(settings: AppSettings) -> PlaybackTemplate | None:
    return template_of(settings.video_playback_template)


Template = Annotated[PlaybackTemplate | None, Depends(playback_template)]


def camera_out(camera: service.CameraRecord, template: PlaybackTemplate | None) -> CameraOut:
    playback = camera.playback(template)
    grid = None
    if camera.grid_id is not None and camera.grid_code is not None:
        grid = GridRef(id=camera.grid_id, code=camera.grid_code, name=camera.grid_name or "")
    return CameraOut(
        id=camera.id, code=camera.code, name=camera.name, type=camera.type, lat=camera.lat,
        lng=camera.lng, grid=grid, stream_url=camera.stream_url, protocol=camera.protocol,
        install_place=camera.install_place, status=camera.status, status_zh=camera.status_zh,
        last_seen_at=camera.last_seen_at, status_at=camera.status_at,
        updated_at=camera.updated_at, playback_url=playback.url if playback else None,
        playback_kind=playback.kind if playback else None,
    )  # fmt: skip


@router.get(
    "/layers/cameras/nearest",
    response_model=list[NearbyCameraOut],
    summary="The cameras nearest to a point",
)
async def nearest_cameras(
    principal: CurrentPrincipal,
    database: AppDatabase,
    cameras: Cameras,
    template: Template,
    lat: float,
    lng: float,
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
    radius_m: Annotated[
        float,
        Query(gt=0, le=service.MAX_RADIUS_M, description="Search radius in metres (≤ 5,000)."),
    ] = service.DEFAULT_RADIUS_M,
    crs: Annotated[str, Query(description=f"One of {', '.join(SUPPORTED_CRS)}.")] = "wgs84",
) -> list[NearbyCameraOut]:
    """Up to `limit` cameras of the caller's area within `radius_m` of the point, nearest
    first, with their GB/T 28181 id as `code`, `stream_url`, status and last-seen time.
    Staff only."""
    principal.require_role(*STAFF_ROLES)
    wlat, wlng = wgs84_point(lat, lng, crs)

    # One hop to the thread pool for the search and its read (a `def` route with a session
    # dependency took two: the event card asks on every click).
    def search() -> list[service.NearbyCamera]:
        with database.session() as db:
            return service.nearest_cameras(
                db=db, cameras=cameras, path=principal.home_path, lat=wlat, lng=wlng,
                limit=limit, radius_m=radius_m,
            )  # fmt: skip

    found = await run_in_threadpool(search)
    played = [n.camera.playback(template) for n in found]
    return [
        NearbyCameraOut(
            id=n.camera.id, kind="camera", name=n.camera.name, code=n.camera.code,
            lat=n.camera.lat, lng=n.camera.lng, distance_m=n.distance_m,
            stream_url=n.camera.stream_url, status=n.camera.status,
            status_zh=n.camera.status_zh, last_seen_at=n.camera.last_seen_at,
            install_place=n.camera.install_place, protocol=n.camera.protocol,
            playback_url=p.url if p else None, playback_kind=p.kind if p else None,
        )
        for n, p in zip(found, played, strict=True)
    ]  # fmt: skip


def _list_path(
    db: DbSession, principal: CurrentPrincipal, org: str | None, grid: str | None
) -> str:
    if grid is not None:
        kind = db.scalar(select(OrgUnit.kind).where(OrgUnit.code == grid))
        if kind != "grid":
            raise invalid("grid", f"no grid with code {grid}", f"不存在编码为 {grid} 的网格")
        return org_path(db, principal, grid)
    return org_path(db, principal, org)


def _status_filter(status: str | None) -> str | None:
    if status is not None and status not in CAMERA_STATUSES:
        raise invalid(
            "status",
            "use online, offline or fault",
            "状态应为 online（在线）、offline（离线）或 fault（故障）",
        )
    return status


StatusQuery = Annotated[str | None, Query(description="online, offline or fault.")]
OrgQuery = Annotated[str | None, Query(description="Org unit code; default: your whole area.")]
GridQuery = Annotated[str | None, Query(description="Grid code: only that grid's cameras.")]
TextQuery = Annotated[str | None, Query(description="Words of the name or digits of the id.")]


@router.get("/cameras", response_model=Page[CameraOut])
def list_cameras(
    principal: CurrentPrincipal,
    db: DbSession,
    paging: Paging,
    template: Template,
    status: StatusQuery = None,
    org: OrgQuery = None,
    grid: GridQuery = None,
    q: TextQuery = None,
) -> Page[CameraOut]:
    """Cameras of the caller's area (or of `org` / `grid` inside it) in id order. Staff only."""
    principal.require_role(*STAFF_ROLES)
    path = _list_path(db, principal, org, grid)
    rows, total = service.list_cameras(
        db=db, path=path, status=_status_filter(status), text=q, offset=paging.offset,
        limit=paging.size,
    )  # fmt: skip
    return Page(
        items=[camera_out(c, template) for c in rows],
        total=total,
        page=paging.page,
        size=paging.size,
    )


@router.get(
    "/cameras/export.csv",
    summary="Export the filtered cameras as CSV (the import's format)",
    responses={200: {"content": {"text/csv": {}}}},
)
def export_cameras(
    principal: CurrentPrincipal,
    db: DbSession,
    clock: AppClock,
    status: StatusQuery = None,
    org: OrgQuery = None,
    grid: GridQuery = None,
    q: TextQuery = None,
) -> Response:
    """The same filters as the list, as UTF-8 CSV in the import's columns (plus grid code and
    last seen), so an export imports again unchanged. Staff only."""
    principal.require_role(*STAFF_ROLES)
    path = _list_path(db, principal, org, grid)
    rows, _total = service.list_cameras(
        db=db, path=path, status=_status_filter(status), text=q, limit=None
    )
    return csv_download(
        [*COLUMNS, "grid_code", "last_seen_at"],
        (
            [
                c.code, c.name, coordinate_text(c.lng), coordinate_text(c.lat), "wgs84", c.stream_url or "", c.status,
                c.install_place or "", c.grid_code or "",
                c.last_seen_at.isoformat() if c.last_seen_at else "",
            ]
            for c in rows
        ),
        filename=stamped("cameras", clock.now()),
    )  # fmt: skip


@router.post("/cameras/import", response_model=CameraImportOut)
async def import_cameras_route(
    request: Request,
    principal: CurrentPrincipal,
    db: WriteSession,
    locator: Locator,
    cameras: Cameras,
    settings: AppSettings,
    clock: AppClock,
    dry_run: Annotated[bool, Query(description="Check and report, write nothing.")] = False,
) -> CameraImportOut:
    """Import cameras from CSV (administrators): the body is the file (`text/csv`) or a
    multipart form with a `file` field. Good rows are created or updated by id, bad rows are
    refused with row, field and reason; the report says which."""
    principal.require_role("admin")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_IMPORT_BYTES + 64 * 1024:
        raise too_large()  # refused before the body is read (64 KiB: a form's own bytes)
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise invalid(
                "file", "send the CSV in a form field named file", "请在表单字段 file 中上传 CSV"
            )
        data = await upload.read()
    else:
        data = await request.body()
    text = decode_csv(data)

    def run() -> CameraImportOut:
        try:
            report = import_cameras(
                db=db, text=text, locator=locator, principal=principal,
                divisions=settings.camera_divisions, now=clock.now(), dry_run=dry_run,
            )  # fmt: skip
            if dry_run:
                db.rollback()
            else:
                db.commit()
        except IntegrityError:
            # Another import created one of these ids meanwhile (PostgreSQL lets two run).
            db.rollback()
            raise Problem(
                409, "conflict", "Conflict", "冲突",
                "another import stored some of these cameras at the same time: import again",
                "另一次导入同时写入了其中的摄像机，请重新导入",
            ) from None  # fmt: skip
            if report.created or report.updated:
                cameras.invalidate()
        return CameraImportOut(
            dry_run=report.dry_run, rows=report.rows, created=report.created,
            updated=report.updated, unchanged=report.unchanged, refused=report.refused,
            errors=[RowErrorOut(**asdict(e)) for e in report.errors],
            ignored_columns=report.ignored_columns,
        )  # fmt: skip

    return await run_in_threadpool(run)


@router.post("/cameras/status", response_model=StatusReportOut)
def push_statuses(
    body: StatusPush, principal: CurrentPrincipal, db: WriteSession, clock: AppClock
) -> StatusReportOut:
    """Statuses from the video platform, in bulk (administrators, operators, device accounts):
    each entry is applied or refused on its own; a report older than the stored change is
    counted as stale and ignored."""
    report = service.report_statuses(
        db=db,
        principal=principal,
        reports=[service.StatusIn(i.code, i.status, i.at) for i in body.cameras],
        now=clock.now(),
    )
    db.commit()
    return StatusReportOut(
        received=report.received, changed=report.changed, unchanged=report.unchanged,
        stale=report.stale, refused=[RowErrorOut(**asdict(e)) for e in report.refused],
    )  # fmt: skip


@router.get("/cameras/{code}", response_model=CameraOut)
def get_camera(
    code: str, principal: CurrentPrincipal, db: DbSession, template: Template
) -> CameraOut:
    """One camera by its GB/T 28181 id. Staff only."""
    principal.require_role(*STAFF_ROLES)
    return camera_out(service.get_camera(db=db, principal=principal, code=code), template)


@router.patch("/cameras/{code}", response_model=CameraOut)
def edit_camera(
    code: str,
    body: CameraEdit,
    principal: CurrentPrincipal,
    db: WriteSession,
    locator: Locator,
    cameras: Cameras,
    clock: AppClock,
    template: Template,
) -> CameraOut:
    """Change a camera's name, point, stream, install place or status (administrators and
    operators); a status change is stamped now, and `online` counts as seen now."""
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    camera = service.update_camera(
        db=db, principal=principal, code=code, changes=changes, locator=locator, now=clock.now()
    )
    db.commit()
    cameras.invalidate()
    return camera_out(camera, template)

"""Tracked tasks over HTTP under /api/v1/tasks: the list of the caller's area and own tasks,
one task with its trail and photos, progress notes, evidence photos and completion."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import select
from starlette.datastructures import UploadFile

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.errors import invalid, not_found
from fengqiao.events.photos import PhotoInfo, PhotoStore, inspect_photo
from fengqiao.paging import Page, Paging
from fengqiao.tasks import service
from fengqiao.tasks.answers import tasks_out
from fengqiao.tasks.models import TrackedTaskPhoto
from fengqiao.tasks.schemas import TaskCancelIn, TaskCompleteIn, TaskOut, TaskProgressIn

router = APIRouter(tags=["tasks"])

TaskCode = Annotated[str, Path(min_length=3, max_length=32, pattern=r"^[A-Z]{2}\d{8,16}$")]
RowId = Annotated[int | None, Query(ge=1, le=2**31 - 1)]


@router.get("/tasks", response_model=Page[TaskOut], summary="Tracked tasks of the caller")
def list_tasks(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, paging: Paging,
    kind: Literal["decision", "rectification"] | None = None,
    status: Literal["open", "done", "cancelled"] | None = None,
    light: Literal["green", "yellow", "red", "grey"] | None = None,
    town: RowId = None,
    source_type: Annotated[str | None, Query(max_length=24, pattern=r"^[a-z_]+$")] = None,
    source_id: RowId = None,
) -> dict[str, Any]:  # fmt: skip
    """Tasks of areas in the caller's scope (operators, leaders, administrators) and tasks the
    caller or the caller's unit owns; open ones first, soonest due first."""
    now = clock.now()
    with database.session() as db:
        rows, total = service.list_tasks(
            db=db, principal=principal, now=now, kind=kind, status=status, light_name=light,
            town=town, source_type=source_type, source_id=source_id, offset=paging.offset,
            limit=paging.size,
        )  # fmt: skip
        items = tasks_out(db, principal, rows, now)
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.get("/tasks/{code}", response_model=TaskOut, summary="One task, its photos and trail")
def read_task(
    code: TaskCode, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """404 for a task the caller may not see."""
    with database.session() as db:
        task = service.get_task(db, principal, code)
        return tasks_out(db, principal, [task], clock.now(), detail=True)[0]


@router.post("/tasks/{code}/progress", response_model=TaskOut, summary="Report progress")
def report_progress(
    code: TaskCode, body: TaskProgressIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """A progress note by the owner or the area's command room (goes on the trail)."""
    now = clock.now()
    with database.transaction() as db:
        task = service.get_task(db, principal, code)
        service.add_progress(db=db, task=task, actor=principal, note=body.note,
                             version=body.version, now=now)  # fmt: skip
        return tasks_out(db, principal, [task], now, detail=True)[0]


@router.post("/tasks/{code}/complete", response_model=TaskOut, summary="Close a task")
def complete(
    code: TaskCode, body: TaskCompleteIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The result of the task; a task that needs evidence is refused (422 naming `evidence`)
    until a photo is uploaded."""
    now = clock.now()
    with database.transaction() as db:
        task = service.get_task(db, principal, code)
        service.complete_task(db=db, task=task, actor=principal, result=body.result, now=now,
                              version=body.version)  # fmt: skip
        return tasks_out(db, principal, [task], now, detail=True)[0]


@router.post("/tasks/{code}/cancel", response_model=TaskOut, summary="Cancel a task")
def cancel(
    code: TaskCode, body: TaskCancelIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The area's command room drops a task no longer needed, with the reason."""
    now = clock.now()
    with database.transaction() as db:
        task = service.get_task(db, principal, code)
        service.cancel_task(db=db, task=task, actor=principal, reason=body.reason, now=now,
                            version=body.version)  # fmt: skip
        return tasks_out(db, principal, [task], now, detail=True)[0]


async def _read_photos(request: Request) -> list[UploadFile]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid(
            "photos", "upload photos as multipart/form-data files named `photos`",
            "请以 multipart/form-data 方式上传，字段名为 photos",
        )  # fmt: skip
    form = await request.form(max_files=service.PHOTOS_MAX + 1, max_fields=4)
    files = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
    if not files:
        raise invalid("photos", "no photo in the upload", "未上传照片")
    if len(files) > service.PHOTOS_MAX:
        raise invalid("photos", f"at most {service.PHOTOS_MAX} photos",
                      f"每个事项最多 {service.PHOTOS_MAX} 张照片")  # fmt: skip
    return files


@router.post("/tasks/{code}/photos", response_model=TaskOut, status_code=201,
             summary="Add evidence photos (multipart `photos`)")  # fmt: skip
async def add_photos(
    code: TaskCode, request: Request, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Photos of the result, checked like event photos (JPEG, PNG or WebP by content, size and
    pixel count); every photo is checked before any is stored. At most 9 per task."""
    principal.require_role(*service.READER_ROLES)
    files = await _read_photos(request)

    def precheck() -> None:
        with database.session() as db:
            task = service.get_task(db, principal, code)
            service.check_room_for_photos(db, task, principal, len(files))

    await run_in_threadpool(precheck)
    store: PhotoStore = request.app.state.photos
    datas = [await f.read(store.limits.max_bytes + 1) for f in files]
    infos: list[PhotoInfo] = []
    for index, data in enumerate(datas):
        infos.append(await run_in_threadpool(_inspect, store, data, f"photos[{index}]"))
    for data in datas:
        await run_in_threadpool(store.save, data, field="photos")

    def write() -> dict[str, Any]:
        now = clock.now()
        with database.transaction() as db:
            task = service.get_task(db, principal, code)
            service.add_photos(db=db, task=task, actor=principal, photos=infos, now=now)
            return tasks_out(db, principal, [task], now, detail=True)[0]

    return await run_in_threadpool(write)


def _inspect(store: PhotoStore, data: bytes, field: str) -> PhotoInfo:
    return inspect_photo(data, field=field, limits=store.limits)


@router.get(
    "/tasks/{code}/photos/{photo_id}", response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
    summary="An evidence photo of a task",
)  # fmt: skip
def task_photo(
    code: TaskCode, photo_id: Annotated[int, Path(ge=1, le=2**31 - 1)], request: Request,
    principal: CurrentPrincipal, database: AppDatabase,
) -> Response:  # fmt: skip
    with database.session() as db:
        task = service.get_task(db, principal, code)
        photo = db.scalar(select(TrackedTaskPhoto).where(
            TrackedTaskPhoto.id == photo_id, TrackedTaskPhoto.task_id == task.id))  # fmt: skip
    store: PhotoStore = request.app.state.photos
    if photo is None or not store.exists(photo.sha256):
        raise not_found("photo", "照片")
    return Response(
        store.read(photo.sha256), media_type=photo.mime,
        headers={"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip

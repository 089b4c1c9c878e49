"""Notices and leaflets over HTTP: staff draft, publish and withdraw notices to an area of their
scope under /api/v1/notices; residents and the public read today's notices under
/api/v1/public/notices; leaflet campaigns, door-to-door deliveries and coverage per grid under
/api/v1/leaflets."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from fengqiao.deps import (
    AppClock,
    AppDatabase,
    Authenticator,
    CurrentPrincipal,
    api_key_scheme,
    oauth2_scheme,
)
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.events.photos import PhotoInfo, PhotoStore, inspect_photo
from fengqiao.notices import leaflets, service
from fengqiao.notices.models import Notice
from fengqiao.notices.schemas import (
    IMAGES_MAX,
    CampaignIn,
    CampaignOut,
    CoverageOut,
    DeliveryIn,
    DeliveryOut,
    HouseholdOut,
    NoticeIn,
    NoticeOut,
    NoticePatch,
    NoticeStep,
    PublicNotices,
    TownPlaces,
)
from fengqiao.paging import Page, Paging
from fengqiao.scope import Principal

router = APIRouter(tags=["notices"])
public = APIRouter(tags=["notices"])

IMAGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}
}


# --- notices (staff) -----------------------------------------------------------------------


@router.get("/notices", response_model=Page[NoticeOut], summary="Notices of the caller's area")
def list_notices(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging,
    status: Literal["draft", "published", "withdrawn"] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Notices to areas in the caller's scope, newest first; `status` filters. Operators,
    leaders and administrators."""
    with database.session() as db:
        rows, total = service.list_notices(
            db=db, principal=principal, status=status, offset=paging.offset, limit=paging.size
        )
        items = service.notices_out(db, rows)
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/notices", response_model=NoticeOut, status_code=201, summary="Draft a notice")
def create_notice(
    body: NoticeIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A notice to a district, town, village or grid in the caller's scope (403 outside it);
    `publish: true` publishes it at once. Operators and administrators."""
    with database.transaction() as db:
        notice = service.create_notice(db=db, principal=principal, data=body, now=clock.now())
        return service.notice_out(db, notice, trail=True)


@router.get("/notices/{notice_id}", response_model=NoticeOut, summary="One notice and its trail")
def read_notice(notice_id: int, principal: CurrentPrincipal, database: AppDatabase) -> Any:
    """404 for a notice outside the caller's area."""
    with database.session() as db:
        return service.notice_out(db, service.get_notice(db, principal, notice_id), trail=True)


@router.patch("/notices/{notice_id}", response_model=NoticeOut, summary="Change a notice")
def edit_notice(
    notice_id: int, body: NoticePatch, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Title, text or validity of a draft or published notice; send the `version` read."""
    with database.transaction() as db:
        notice = service.get_notice(db, principal, notice_id)
        service.edit_notice(db=db, principal=principal, notice=notice, data=body, now=clock.now())
        return service.notice_out(db, notice, trail=True)


@router.post(
    "/notices/{notice_id}/publish", response_model=NoticeOut, summary="Publish a draft notice"
)
def publish_notice(
    notice_id: int, body: NoticeStep, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    with database.transaction() as db:
        notice = service.get_notice(db, principal, notice_id)
        service.publish(
            db=db, principal=principal, notice=notice, version=body.version, now=clock.now()
        )
        return service.notice_out(db, notice, trail=True)


@router.post("/notices/{notice_id}/withdraw", response_model=NoticeOut, summary="Withdraw a notice")
def withdraw_notice(
    notice_id: int, body: NoticeStep, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Residents no longer see it; who withdrew it and why goes on its trail."""
    with database.transaction() as db:
        notice = service.get_notice(db, principal, notice_id)
        service.withdraw(db=db, principal=principal, notice=notice, version=body.version,
                         reason=body.reason, now=clock.now())  # fmt: skip
        return service.notice_out(db, notice, trail=True)


def _store(request: Request) -> PhotoStore:
    store: PhotoStore = request.app.state.photos
    return store


async def _read_images(request: Request) -> list[UploadFile]:
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise invalid(
            "images", "upload images as multipart/form-data files named `images`",
            "请以 multipart/form-data 方式上传，字段名为 images",
        )  # fmt: skip
    form = await request.form(max_files=IMAGES_MAX + 1, max_fields=4)
    files = [f for f in form.getlist("images") if isinstance(f, UploadFile)]
    if not files:
        raise invalid("images", "no image in the upload", "未上传图片")
    if len(files) > IMAGES_MAX:
        raise invalid("images", f"at most {IMAGES_MAX} images", f"每条通知最多 {IMAGES_MAX} 张图片")
    return files


@router.post(
    "/notices/{notice_id}/images", response_model=NoticeOut, status_code=201,
    summary="Add images to a notice (multipart `images`)",
)  # fmt: skip
async def add_images(
    notice_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Up to 4 images per notice, checked like event photos (JPEG, PNG or WebP by content,
    size and pixel count); anything else is refused and nothing is stored."""
    principal.require_role(*service.WRITER_ROLES)
    files = await _read_images(request)

    def precheck() -> None:
        with database.session() as db:
            service.check_room_for_images(service.get_notice(db, principal, notice_id), len(files))

    await run_in_threadpool(precheck)
    store = _store(request)
    datas = [await f.read(store.limits.max_bytes + 1) for f in files]
    infos: list[PhotoInfo] = []
    for index, data in enumerate(datas):  # check every image before any is stored
        infos.append(await run_in_threadpool(
            _inspect, store, data, f"images[{index}]"
        ))  # fmt: skip
    for data in datas:
        await run_in_threadpool(store.save, data, field="images")

    def write() -> dict[str, Any]:
        with database.transaction() as db:
            notice = service.get_notice(db, principal, notice_id)
            service.add_images(db=db, principal=principal, notice=notice, images=infos,
                               now=clock.now())  # fmt: skip
            return service.notice_out(db, notice, trail=True)

    return await run_in_threadpool(write)


def _inspect(store: PhotoStore, data: bytes, field: str) -> PhotoInfo:
    return inspect_photo(data, field=field, limits=store.limits)


def _image(store: PhotoStore, notice: Notice, index: int) -> Response:
    if not 0 <= index < len(notice.images):
        raise not_found("image", "图片")
    image = notice.images[index]
    if not store.exists(image["sha256"]):
        raise not_found("image file", "图片文件")
    return Response(
        store.read(image["sha256"]), media_type=image["mime"],
        headers={"Cache-Control": "private, max-age=3600", "ETag": f'"{image["sha256"]}"',
                 "X-Content-Type-Options": "nosniff"},
    )  # fmt: skip


@router.get(
    "/notices/{notice_id}/images/{index}", response_class=Response, responses=IMAGE_RESPONSES,
    summary="An image of a notice (staff of its area)",
)  # fmt: skip
def notice_image(
    notice_id: int, index: int, request: Request, principal: CurrentPrincipal,
    database: AppDatabase,
) -> Response:  # fmt: skip
    with database.session() as db:
        notice = service.get_notice(db, principal, notice_id)
    return _image(_store(request), notice, index)


# --- notices (residents and the public) ---------------------------------------------------


async def optional_caller(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal | None:
    """The signed-in caller when the request carries a credential that holds, else nobody."""
    if not token and not api_key and not request.cookies.get("fq_session"):
        return None
    authenticate: Authenticator = request.app.state.authenticate
    try:
        return await authenticate(request, token, api_key)
    except Problem:
        return None


OptionalCaller = Annotated[Principal | None, Depends(optional_caller)]


@public.get("/public/notices", response_model=PublicNotices, summary="Today's notices")
def public_notices(
    caller: OptionalCaller, database: AppDatabase, clock: AppClock,
    village: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:  # fmt: skip
    """The published notices valid today (Asia/Shanghai) for an area and every area above it:
    the chosen `village` (or town, or district); else the signed-in caller's home area; else the
    root's (the district, or a province).
    No login needed; no staff names."""
    today = service.local_today(clock.now())
    with database.session() as db:
        area = service.resident_area(db, caller, village)
        items = service.public_out(db, service.visible(db, area.path, today))
        return {"area": {"id": area.id, "name": area.name, "kind": area.kind}, "items": items}


@public.get(
    "/public/notices/places", response_model=list[TownPlaces],
    summary="Towns and villages to choose notices by",
)  # fmt: skip
def notice_places(database: AppDatabase) -> list[dict[str, Any]]:
    """The village chooser of the notices page: every town with its villages (names only)."""
    with database.session() as db:
        return service.towns_and_villages(db)


@public.get(
    "/public/notices/{notice_id}/images/{index}", response_class=Response,
    responses=IMAGE_RESPONSES, summary="An image of a notice shown today",
)  # fmt: skip
def public_image(
    notice_id: int, index: int, request: Request, database: AppDatabase, clock: AppClock
) -> Response:
    """Only while the notice is published and valid; 404 otherwise."""
    with database.session() as db:
        notice = db.get(Notice, notice_id)
        if notice is None or not service.is_visible(notice, service.local_today(clock.now())):
            raise not_found("notice", "通知")
    return _image(_store(request), notice, index)


# --- leaflets -------------------------------------------------------------------------------


@router.get("/leaflets/campaigns", response_model=list[CampaignOut], summary="Leaflet campaigns")
def list_campaigns(principal: CurrentPrincipal, database: AppDatabase) -> list[dict[str, Any]]:
    """The campaigns whose area is above, at or below the caller's (the newest 100), each with
    the households reached and the households of the caller's part of its area."""
    with database.session() as db:
        return leaflets.list_campaigns(db, principal)


@router.post(
    "/leaflets/campaigns", response_model=CampaignOut, status_code=201,
    summary="Start a leaflet campaign",
)  # fmt: skip
def create_campaign(
    body: CampaignIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Printed leaflets for an area in scope: a name, or the notice they go with, and the
    copies printed. Operators and administrators."""
    with database.transaction() as db:
        campaign = leaflets.create_campaign(db=db, principal=principal, data=body, now=clock.now())
        return leaflets.campaign_out(db, principal, campaign)


@router.get(
    "/leaflets/campaigns/{campaign_id}/coverage", response_model=CoverageOut,
    summary="Coverage per grid of a leaflet campaign",
)  # fmt: skip
def campaign_coverage(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase
) -> dict[str, Any]:
    """Per grid of the caller's part of the campaign's area: households reached, the grid's
    households (from the org tree) and the rate; the totals."""
    with database.session() as db:
        campaign = leaflets.get_campaign(db, principal, campaign_id)
        return leaflets.coverage(db, principal, campaign)


@router.get(
    "/leaflets/campaigns/{campaign_id}/deliveries", response_model=Page[DeliveryOut],
    summary="Households reached by a campaign",
)  # fmt: skip
def list_deliveries(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase, paging: Paging,
    grid_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:  # fmt: skip
    with database.session() as db:
        campaign = leaflets.get_campaign(db, principal, campaign_id)
        items, total = leaflets.deliveries(
            db=db, principal=principal, campaign=campaign, grid_id=grid_id,
            offset=paging.offset, limit=paging.size,
        )  # fmt: skip
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post(
    "/leaflets/campaigns/{campaign_id}/deliveries", response_model=DeliveryOut, status_code=201,
    summary="Record a household reached",
)  # fmt: skip
def record_delivery(
    campaign_id: int, body: DeliveryIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """A grid worker records one household (address or door number) of a grid they serve;
    the same household twice in one campaign is 409 `household-reached`."""
    with database.transaction() as db:
        campaign = leaflets.get_campaign(db, principal, campaign_id)
        row = leaflets.deliver(db=db, principal=principal, campaign=campaign, data=body,
                               now=clock.now())  # fmt: skip
        return leaflets.delivery_out(db, row)


@router.get(
    "/leaflets/campaigns/{campaign_id}/households", response_model=list[HouseholdOut],
    summary="Known households of a grid, to pick from",
)  # fmt: skip
def campaign_households(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase,
    grid_id: Annotated[int, Query(ge=1, le=2**31 - 1)],
) -> Sequence[dict[str, Any]]:  # fmt: skip
    """The doors of the grid any campaign reached, each marked when this one did."""
    with database.session() as db:
        campaign = leaflets.get_campaign(db, principal, campaign_id)
        return leaflets.households(db=db, principal=principal, campaign=campaign, grid_id=grid_id)


@router.get("/leaflets/grids", summary="The grids the caller records leaflets in")
def leaflet_grids(principal: CurrentPrincipal, database: AppDatabase) -> list[dict[str, Any]]:
    """The grids a grid worker serves (else the grids of their area), with households."""
    principal.require_role(*leaflets.READER_ROLES)
    with database.session() as db:
        return leaflets.my_grids(db, principal)

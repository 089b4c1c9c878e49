"""The residents' API of their own reports (我的上报): the list, one report in plain words, its
photos, the rating; and staff's 公开给上报人 switch on a photo of the event page."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import ConfigDict, Field

from fengqiao.bounds import RequestModel
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import not_found
from fengqiao.events import resident, service, steps
from fengqiao.events.escalation import EscalationPolicy
from fengqiao.events.photos import PhotoStore
from fengqiao.events.proof import ProofPolicy
from fengqiao.events.schemas import PhotoPublicIn, PhotoPublicOut, TransitionIn
from fengqiao.paging import Paging
from fengqiao.taxonomy.deps import app_rules

router = APIRouter(tags=["resident reports"])


class RatingIn(RequestModel):
    """Stars and a comment for a finished report, given once, by whoever reported it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    stars: int = Field(ge=1, le=5, description="1 (很不满意) to 5 (很满意).")
    comment: str = Field("", max_length=500, description="What the resident says about it.")


@router.get(
    "/resident/reports",
    response_model=resident.ReportList,
    summary="The caller's own reports, newest first, in plain words",
)
def list_my_reports(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging
) -> resident.ReportList:
    with database.session() as db:
        return resident.list_reports(db, principal, paging)


@router.get(
    "/resident/reports/{code}",
    response_model=resident.ReportDetail,
    summary="One of the caller's own reports: public timeline, public photos, rating",
    responses={404: {"description": "No such report of yours"}},
)
def get_my_report(
    code: str, principal: CurrentPrincipal, database: AppDatabase
) -> resident.ReportDetail:
    with database.session() as db:
        event = resident.my_report(db, principal, code[:32])
        return resident.report_detail(db, principal, event)


@router.get(
    "/resident/reports/{code}/photos/{photo_id}",
    response_class=Response,
    summary="A photo of the caller's report that they may see (theirs, or marked public)",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_my_photo(
    code: str, photo_id: int, request: Request, principal: CurrentPrincipal, database: AppDatabase
) -> Response:
    with database.session() as db:
        photo = resident.my_photo(db, principal, code[:32], photo_id)
    store: PhotoStore = request.app.state.photos
    if not store.exists(photo.sha256):
        raise not_found("photo file", "照片文件")
    return Response(
        store.read(photo.sha256),
        media_type=photo.mime,
        headers={"Cache-Control": "private, max-age=86400"},
    )


@router.post(
    "/resident/reports/{code}/rating",
    response_model=resident.ReportDetail,
    summary="Rate a finished report (stars and a comment), once",
    responses={
        403: {"description": "Not the reporter"},
        409: {"description": "Not finished yet, or rated already"},
    },
)
def rate_my_report(
    code: str,
    body: RatingIn,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
) -> resident.ReportDetail:
    """The `rate` step of the loop (events/steps.py), counted in assessment's 满意度."""
    now = clock.now()
    with database.transaction() as db:
        rules = app_rules(request, db)
        event = resident.my_report(db, principal, code[:32])
        data = TransitionIn(
            action="rate", version=event.version, satisfaction=body.stars,
            comment=body.comment or None,
        )  # fmt: skip
        event = steps.transition(
            db=db, rules=rules, principal=principal, event_id=event.id, data=data, now=now,
            escalation=EscalationPolicy.from_settings(settings),
            proof=ProofPolicy.from_settings(settings),
        )  # fmt: skip
        return resident.report_detail(db, principal, event)


@router.put(
    "/events/{event_id}/attachments/{attachment_id}/public",
    response_model=PhotoPublicOut,
    summary="公开给上报人: show a photo to the reporter, or stop showing it",
    responses={
        403: {"description": "Not an operator of the area nor a handler of the owner unit"},
        409: {"description": "Stale version"},
    },
)
def put_photo_public(
    event_id: int,
    attachment_id: int,
    body: PhotoPublicIn,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
) -> PhotoPublicOut:
    """Operators of the event's area and handlers of its owner unit; send the event's version
    you read (a stale one is a 409 and nothing changes). The change is on the trail."""
    now = clock.now()
    with database.transaction() as db:
        rules = app_rules(request, db)
        event = service.get_event(db=db, principal=principal, event_id=event_id, lock=True)
        photo = resident.set_photo_public(
            db=db, rules=rules, principal=principal, event=event, photo_id=attachment_id,
            public=body.public, version=body.version, now=now,
        )  # fmt: skip
        return PhotoPublicOut(id=photo.id, public=photo.public, version=event.version)

"""A resident's own reports in plain words (我的上报): the list, one report with its public
timeline, the photos they may see, the rating; and staff marking a photo 公开给上报人.

What a resident reads comes from events/public.py only: the public status of a state, the
public steps of the trail with their words (a unit's name, a merged report's code, a
rejection's reason), never a staff member's name, a hash or an internal note. A report that is
not the caller's reads as "no such report" (404), like every read outside a caller's scope.
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from fengqiao.errors import check_version, forbidden, not_found
from fengqiao.events import workflow
from fengqiao.events.models import Attachment, Event, EventLog
from fengqiao.events.public import (
    PHOTO_SIDE,
    PUBLIC_PHOTO_KIND_ZH,
    PUBLIC_STATUS_OF_STATE,
    PUBLIC_STATUS_ZH,
    public_note,
    public_step,
    public_words,
)
from fengqiao.events.schemas import EventDetail
from fengqiao.events.service import facts
from fengqiao.events.trail import append_log, of_event
from fengqiao.org.models import Unit
from fengqiao.paging import PageParams
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import Rules

# The column another part of issue 19 adds for 我也遇到 (counted on the event), if present.
ME_TOO_COLUMNS = ("me_too_count", "me_too")


class ReportItem(BaseModel):
    """One of the caller's reports in their list."""

    code: str
    category: str = Field(description="The class's name.")
    description: str
    address: str
    status: str = Field(
        description="The public status: " + ", ".join(PUBLIC_STATUS_OF_STATE.values())
    )
    status_zh: str
    created_at: datetime
    closed_at: datetime | None
    rated: bool


class ReportList(BaseModel):
    items: list[ReportItem]
    total: int
    page: int
    size: int


class PublicStepOut(BaseModel):
    """One public step of the report's timeline."""

    at: datetime
    key: str = Field(description="submitted, accepted, dispatched, handled, closed, rejected, …")
    words: str
    reason: str = Field("", description="Only for 不予受理: the reason given to the reporter.")


class PublicPhoto(BaseModel):
    id: int
    kind: str
    kind_zh: str
    side: str = Field(description="before (the problem) or after (the result).")
    url: str


class ReportDetail(ReportItem):
    lat: float
    lng: float
    expected_at: datetime | None = Field(description="The deadline the report is worked to.")
    timeline: list[PublicStepOut]
    photos: list[PublicPhoto]
    satisfaction: int | None
    rating_comment: str | None
    may_rate: bool
    me_too: int | None = Field(None, description="How many others said 我也遇到, where counted.")


def report_item(event: Event) -> ReportItem:
    return ReportItem(
        code=event.code, category=event.category_name, description=event.description,
        address=event.address, status=PUBLIC_STATUS_OF_STATE[event.status],
        status_zh=PUBLIC_STATUS_ZH[event.status], created_at=event.created_at,
        closed_at=event.closed_at, rated=event.satisfaction is not None,
    )  # fmt: skip


def list_reports(db: Session, principal: Principal, paging: PageParams) -> ReportList:
    """The caller's own reports, newest first (the reporter index serves it)."""
    mine = Event.reporter_id == principal.user_id
    total = db.scalar(select(func.count()).select_from(Event).where(mine)) or 0
    rows = db.scalars(
        select(Event)
        .where(mine)
        .order_by(Event.created_at.desc(), Event.id.desc())
        .offset(paging.offset)
        .limit(paging.size)
    )
    return ReportList(
        items=[report_item(e) for e in rows], total=total, page=paging.page, size=paging.size
    )


def my_report(db: Session, principal: Principal, code: str, *, lock: bool = False) -> Event:
    """One of the caller's own reports by its code; 404 for any other."""
    query = select(Event).where(Event.code == code, Event.reporter_id == principal.user_id)
    if lock:
        query = query.with_for_update()
    event = db.scalar(query)
    if event is None:
        raise not_found("report", "上报")
    return event


def may_see(principal: Principal, event: Event, photo: Attachment) -> bool:
    """Staff see every photo of an event they may read; anyone else (the resident who reported
    it) those staff marked public and their own."""
    return principal.is_staff() or photo.public or photo.uploaded_by == event.reporter_id


def for_reporter(db: Session, detail: EventDetail, event: Event) -> EventDetail:
    """The staff detail of an event as a caller who is not staff may have it (a resident reading
    their own report through the events API): the public steps only, with no one's name, no
    note but a rejection's public reason, no payload and no hash, not the handler's result
    text; the photos they may see.
    The residents' app reads /api/v1/resident/reports/{code}, which says the same in words."""
    trail = [
        row.model_copy(
            update={
                "actor": None,
                "note": public_note(row.action, row.note),
                "payload": {},
                "hash": "",
                "unit_id": None,
            }
        )
        for row in detail.trail
        if public_step(row.action, row.to_status)
    ]
    visible = {a.id for a in visible_photos(db, event)}
    photos = [a for a in detail.attachments if a.id in visible]
    return detail.model_copy(update={"trail": trail, "attachments": photos, "result": None})


def visible_photos(db: Session, event: Event) -> list[Attachment]:
    """The photos the reporter may see: those staff marked public, and their own."""
    return list(
        db.scalars(
            select(Attachment)
            .where(
                Attachment.event_id == event.id,
                or_(Attachment.public.is_(True), Attachment.uploaded_by == event.reporter_id),
            )
            .order_by(Attachment.id)
        )
    )


def timeline(db: Session, event: Event) -> list[PublicStepOut]:
    """The public steps of the trail, oldest first, in events/public.py's words."""
    rows = db.execute(
        select(EventLog.at, EventLog.action, EventLog.to_status, EventLog.unit_id,
               EventLog.note, EventLog.payload)
        .where(*of_event(event))
        .order_by(EventLog.seq)
    ).all()  # fmt: skip
    unit_ids = {r.unit_id for r in rows if r.unit_id is not None and r.action == "dispatch"}
    names = (
        {r.id: r.name for r in db.execute(select(Unit.id, Unit.name).where(Unit.id.in_(unit_ids)))}
        if unit_ids
        else {}
    )
    steps = []
    for r in rows:
        step = public_step(r.action, r.to_status)
        if step is None:
            continue
        unit = names.get(r.unit_id, "") if r.unit_id is not None else ""
        steps.append(
            PublicStepOut(
                at=r.at,
                key=step.key,
                words=public_words(step, unit_name=unit, payload=r.payload),
                reason=public_note(r.action, r.note),
            )
        )
    return steps


def report_detail(db: Session, principal: Principal, event: Event) -> ReportDetail:
    photos = [
        PublicPhoto(
            id=a.id,
            kind=a.kind,
            kind_zh=PUBLIC_PHOTO_KIND_ZH.get(a.kind, "照片"),
            side=PHOTO_SIDE.get(a.kind, "after"),
            url=f"/api/v1/resident/reports/{event.code}/photos/{a.id}",
        )
        for a in visible_photos(db, event)
    ]
    me_too = next((getattr(event, c) for c in ME_TOO_COLUMNS if hasattr(event, c)), None)
    return ReportDetail(
        **report_item(event).model_dump(),
        lat=event.lat, lng=event.lng,
        expected_at=event.due_at if event.status in workflow.OPEN or event.status == "closed"
        else None,
        timeline=timeline(db, event), photos=photos, satisfaction=event.satisfaction,
        rating_comment=event.rating_comment,
        may_rate=event.status == "closed" and event.satisfaction is None
        and principal.user_id == event.reporter_id,
        me_too=me_too if isinstance(me_too, int) else None,
    )  # fmt: skip


def my_photo(db: Session, principal: Principal, code: str, photo_id: int) -> Attachment:
    """A photo of the caller's report that they may see; 404 for any other."""
    event = my_report(db, principal, code)
    photo = next((a for a in visible_photos(db, event) if a.id == photo_id), None)
    if photo is None:
        raise not_found("photo", "照片")
    return photo


def set_photo_public(
    *,
    db: Session,
    rules: Rules,
    principal: Principal,
    event: Event,
    photo_id: int,
    public: bool,
    version: int,
    now: datetime,
) -> Attachment:
    """公开给上报人, or stop: an operator of the event's area or a handler of its owner unit, on
    the version they read; a new version and an (internal) trail row."""
    known = facts(event, rules)
    if not (
        workflow.is_actor("operator", principal, known)
        or workflow.is_actor("owner_handler", principal, known)
    ):
        raise forbidden(
            "only an operator of the area or a handler of the owner unit may publish photos",
            "只有辖区指挥室坐席或责任单位处置人员可以设置照片是否公开给上报人",
        )
    check_version(version, event.version, what="event", what_zh="事件")
    photo = db.scalar(
        select(Attachment).where(Attachment.id == photo_id, Attachment.event_id == event.id)
    )
    if photo is None:
        raise not_found("photo", "照片")
    if photo.public != public:
        photo.public = public
        event.version += 1
        append_log(
            db, event, at=now, actor_id=principal.user_id, action="photo_public",
            from_status=event.status, to_status=event.status, unit_id=None, note="",
            payload={"attachment_id": photo.id, "public": public},
        )  # fmt: skip
        event.updated_at = now
    db.flush()
    return photo

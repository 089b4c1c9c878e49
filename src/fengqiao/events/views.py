"""The event API: file, list, export, read, act on, and add photos to events."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from functools import partial
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.deps import AppClock, AppDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, from_pydantic, invalid, not_found
from fengqiao.events import filing, queries, service, steps
from fengqiao.events import trail as event_trail
from fengqiao.events.escalation import RUNG_ZH, EscalationPolicy
from fengqiao.events.models import Attachment, Event
from fengqiao.events.photos import PhotoInfo, PhotoStore
from fengqiao.events.schemas import (
    AnswerOut,
    AttachmentKind,
    AttachmentOut,
    DuplicateOut,
    EventCreate,
    EventCreated,
    EventDetail,
    EventListOut,
    EventOut,
    Ref,
    TrailRow,
    TransitionIn,
)
from fengqiao.events.sources import SOURCE_ZH
from fengqiao.events.workflow import STATUS_ZH
from fengqiao.exports import csv_download, stamped
from fengqiao.geo.deps import Locator
from fengqiao.geo.service import Place
from fengqiao.org.models import PLATFORM_ZH, OrgUnit, Unit
from fengqiao.readcache import Answer, ReadCache, make_answer, respond
from fengqiao.scope import Principal, mask_phone
from fengqiao.taxonomy.deps import app_rules
from fengqiao.taxonomy.questions import describe
from fengqiao.taxonomy.snapshot import Rules

router = APIRouter(tags=["events"])


def _photos(request: Request) -> PhotoStore:
    store: PhotoStore = request.app.state.photos
    return store


async def _read_submission(request: Request, limit: int) -> tuple[dict[str, Any], list[UploadFile]]:
    """The fields and photo files of a JSON or multipart submission."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form(max_files=limit + 1)
        files = [f for f in form.getlist("photos") if isinstance(f, UploadFile)]
        fields: dict[str, Any] = {
            k: v for k, v in form.multi_items() if k != "photos" and isinstance(v, str)
        }
        if len(files) > limit:
            raise invalid(
                "photos", f"at most {limit} photos at once", f"一次最多上传 {limit} 张照片"
            )
        return fields, files
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as exc:
        raise invalid("body", f"not valid JSON: {exc}", "请求体不是合法的 JSON") from exc
    if not isinstance(body, dict):
        raise invalid("body", "send a JSON object", "请求体应为 JSON 对象")
    return body, []


async def _save_photos(store: PhotoStore, files: Sequence[UploadFile]) -> list[PhotoInfo]:
    saved = []
    for index, upload in enumerate(files):
        data = await upload.read(store.limits.max_bytes + 1)
        saved.append(await run_in_threadpool(store.save, data, field=f"photos[{index}]"))
    return saved


@router.post(
    "/events",
    status_code=201,
    response_model=EventCreated,
    responses={200: {"model": EventCreated, "description": "A retry: the event filed first."}},
    summary="File an event (JSON, or multipart with photos)",
)
async def create_event(
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    locator: Locator,
    settings: AppSettings,
    clock: AppClock,
    database: AppDatabase,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=128, description="Retries with the same key return the first event."),
    ] = None,
) -> EventCreated:
    """One way in from every source. Send JSON (`EventCreate`), or `multipart/form-data` with
    the same fields plus `photos` files. The point resolves to grid, village and town, routing
    proposes the owner unit, the deadline starts; likely duplicates nearby are listed.
    """
    fields, files = await _read_submission(request, settings.photos_per_event)
    try:
        data = EventCreate.model_validate(fields)
    except ValidationError as exc:
        raise from_pydantic(exc.errors()) from exc
    place = locator.locate(data.lng, data.lat, data.crs)
    if files:

        def precheck() -> None:
            with database.session() as db:
                filing.check_filing(app_rules(request, db), principal, data)

        await run_in_threadpool(precheck)  # refuse before any photo is stored
    photos = await _save_photos(_photos(request), files)
    now = clock.now()

    def write() -> tuple[EventCreated, bool]:
        with database.transaction() as db:
            rules = app_rules(request, db)
            event, duplicates, created = filing.file_or_replay(
                db=db, rules=rules, place=place, principal=principal, data=data, now=now,
                photos=photos, idempotency_key=idempotency_key,
                duplicate_radius_m=settings.duplicate_radius_m,
                duplicate_days=settings.duplicate_days, base_url=settings.public_base_url,
            )  # fmt: skip
            out = event_out(db, rules, event, principal, now, place=place if created else None)
            # `out` is validated already; only the duplicates are new.
            return EventCreated.model_construct(
                **out.__dict__,
                duplicates=[DuplicateOut(**d.__dict__) for d in duplicates],
            ), created

    created_out, created = await database.run_write(write)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/events/{created_out.id}"
    return created_out


@router.get(
    "/events",
    response_model=EventListOut,
    summary="List events in your scope",
    responses={304: {"description": "Not modified: the ETag sent in If-None-Match still holds."}},
)
async def list_events(
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    filters: Annotated[queries.EventFilters, Depends(queries.event_filters)],
    sort: queries.Sort = "-created_at",
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
    count: Annotated[bool, Query(description="Also count all matching events.")] = False,
) -> Response:
    """Events the caller may read, newest first unless `sort` says otherwise. Answers carry an
    ETag (`If-None-Match` gets a 304 while nothing changed) and are cached for a few seconds
    per caller and query; a filing or a step shows in the next read (docs/api.md, caching)."""
    now = clock.now()
    cache: ReadCache = request.app.state.read_cache
    # The caller whole (scope, roles, unit: the actions and masked phones differ) and the query.
    key = ("events", principal, tuple(sorted(request.query_params.multi_items())))
    mark = await cache.mark("events", partial(queries.read_change_mark, database))
    answer = cache.peek(key, mark, now)  # a hit costs no thread hop and no session
    if answer is not None:
        return respond(request, answer)

    def make() -> Answer:
        with database.session() as db:
            rules = app_rules(request, db)
            rows, next_cursor = queries.page(
                db, filters, principal, now, sort=sort, cursor=cursor, size=size
            )
            items = event_outs(db, rules, rows, principal, now)
            total = queries.count(db, filters, principal, now) if count else None
        out = EventListOut(items=items, next_cursor=next_cursor, total=total)
        body = out.model_dump_json(by_alias=True).encode()
        return make_answer(out, body, media_type="application/json", made_at=now, mark=mark)

    answer = await run_in_threadpool(cache.get_or_make, key, mark, now, make)
    return respond(request, answer)


CSV_COLUMNS = (
    ("code", "事件编号"), ("title", "标题"), ("category_name", "小类"), ("major_name", "大类"),
    ("platform", "平台"), ("level", "等级"), ("urgent", "紧急"), ("source", "来源"),
    ("status", "状态"), ("light", "红黄绿灯"), ("town", "镇街"), ("village", "村社"),
    ("grid", "网格"), ("address", "地址"), ("owner_unit", "责任单位"), ("created_at", "上报时间"),
    ("due_at", "处置时限"), ("closed_at", "结案时间"), ("rework_count", "返工次数"),
    ("return_count", "回退次数"), ("satisfaction", "满意度"),
)  # fmt: skip


@router.get(
    "/events/export.csv",
    response_class=StreamingResponse,
    summary="Export the filtered list as CSV",
    responses={200: {"content": {"text/csv": {}}}},
)
def export_events(
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
    filters: Annotated[queries.EventFilters, Depends(queries.event_filters)],
    sort: queries.Sort = "-created_at",
) -> StreamingResponse:
    """The same filters as the list, as a UTF-8 CSV with Chinese headers (opens in Excel)."""
    now = clock.now()

    def rows() -> Iterator[list[Any]]:
        with database.session() as db:
            names = _names(db)
            for event in queries.stream(
                db, filters, principal, now, sort=sort, limit=settings.export_max_rows
            ):
                yield _csv_row(event, names, now)

    return csv_download([zh for _key, zh in CSV_COLUMNS], rows(), filename=stamped("events", now))


def _csv_row(event: Event, names: dict[str, dict[int, str]], now: datetime) -> list[Any]:
    def local(at: datetime | None) -> str:
        return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else ""

    values = {
        "code": event.code, "title": event.title, "category_name": event.category_name,
        "major_name": event.major_name, "platform": PLATFORM_ZH.get(event.platform, event.platform), "level": event.level,
        "urgent": "是" if event.urgent else "", "source": SOURCE_ZH[event.source],
        "status": STATUS_ZH[event.status],
        "light": {"green": "绿", "yellow": "黄", "red": "红"}.get(service.light_of(event, now) or "", ""),
        "town": names["org"].get(event.town_id, ""), "village": names["org"].get(event.village_id, ""),
        "grid": names["org"].get(event.grid_id, ""), "address": event.address,
        "owner_unit": names["unit"].get(event.owner_unit_id or 0, ""),
        "created_at": local(event.created_at), "due_at": local(event.due_at),
        "closed_at": local(event.closed_at), "rework_count": event.rework_count,
        "return_count": event.return_count, "satisfaction": event.satisfaction or "",
    }  # fmt: skip
    return [values[key] for key, _zh in CSV_COLUMNS]


def _names(db: Session) -> dict[str, dict[int, str]]:
    """Names of org units and units, read once per export instead of once per row."""
    return {
        "org": {i: name for i, name in db.execute(select(OrgUnit.id, OrgUnit.name))},
        "unit": {i: name for i, name in db.execute(select(Unit.id, Unit.name))},
    }


@router.get(
    "/events/{event_id}", response_model=EventDetail, summary="One event, its trail and photos"
)
def get_event(
    event_id: int,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
) -> EventDetail:
    """The event with its whole trail and its attachments; 404 outside the caller's scope."""
    now = clock.now()
    with database.session() as db:
        rules = app_rules(request, db)
        event = service.get_event(db=db, principal=principal, event_id=event_id)
        return detail_out(db, rules, event, principal, now)


@router.post(
    "/events/{event_id}/transitions",
    response_model=EventDetail,
    summary="Take one step of the workflow",
    responses={
        403: {"description": "Not yours to do"},
        409: {"description": "Wrong state or stale version"},
    },
)
def post_transition(
    event_id: int,
    body: TransitionIn,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
) -> EventDetail:
    """accept, reject, self_handle, close, dispatch, sign, return, feedback, verify,
    request_suspend, request_void, approve, deny, resume, merge, rate, request_escalation,
    escalate (see docs/workflow.md).
    Send the `version` you read; a stale one is a 409 and nothing changes.
    """
    now = clock.now()
    with database.transaction() as db:
        rules = app_rules(request, db)
        event = steps.transition(
            db=db, rules=rules, principal=principal, event_id=event_id, data=body, now=now,
            escalation=EscalationPolicy.from_settings(settings),
        )  # fmt: skip
        return detail_out(db, rules, event, principal, now)


@router.post(
    "/events/{event_id}/attachments",
    response_model=list[AttachmentOut],
    status_code=201,
    summary="Add photos to an event (multipart `photos`)",
)
async def add_attachments(
    event_id: int,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
    kind: Annotated[
        AttachmentKind, Query(description="before, after, evidence, near, far.")
    ] = "evidence",
) -> list[AttachmentOut]:
    """Photos checked by content, stored by hash; the upload is on the event's trail."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415, "unsupported-media-type", "Send multipart/form-data", "请以 multipart/form-data 上传",
            "upload photos as multipart/form-data files named `photos`",
            "请以 multipart/form-data 方式上传，字段名为 photos",
        )  # fmt: skip
    _fields, files = await _read_submission(request, settings.photos_per_event)
    if not files:
        raise invalid("photos", "no photo in the upload", "未上传照片")
    now = clock.now()

    def check() -> None:
        with database.session() as db:
            service.get_event(db=db, principal=principal, event_id=event_id)

    await run_in_threadpool(check)  # 404 before the files are stored
    photos = await _save_photos(_photos(request), files)

    def write() -> list[AttachmentOut]:
        with database.transaction() as db:
            event = service.get_event(db=db, principal=principal, event_id=event_id, lock=True)
            rows = service.add_attachments(
                db=db, principal=principal, event=event, photos=photos, kind=kind, now=now
            )
            return [attachment_out(a) for a in rows]

    return await run_in_threadpool(write)


@router.get(
    "/events/{event_id}/attachments/{attachment_id}",
    response_class=Response,
    summary="A photo of an event (only to those who may read the event)",
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}, "image/webp": {}}}},
)
def get_attachment(
    event_id: int,
    attachment_id: int,
    request: Request,
    principal: CurrentPrincipal,
    database: AppDatabase,
) -> Response:
    with database.session() as db:
        service.get_event(db=db, principal=principal, event_id=event_id)
        attachment = db.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.event_id == event_id
            )
        )
        if attachment is None:
            raise not_found("photo", "照片")
    store = _photos(request)
    if not store.exists(attachment.sha256):
        raise not_found("photo file", "照片文件")
    return Response(
        store.read(attachment.sha256),
        media_type=attachment.mime,
        headers={"Cache-Control": "private, max-age=86400", "ETag": f'"{attachment.sha256}"'},
    )


# --- shaping ------------------------------------------------------------------------------


def attachment_out(a: Attachment) -> AttachmentOut:
    return AttachmentOut(
        id=a.id, kind=a.kind, sha256=a.sha256, mime=a.mime, bytes=a.bytes, width=a.width,
        height=a.height, taken_at=a.taken_at, lat=a.lat, lng=a.lng,
        url=f"/api/v1/events/{a.event_id}/attachments/{a.id}",
    )  # fmt: skip


def event_outs(
    db: Session,
    rules: Rules,
    events: Sequence[Event],
    principal: Principal,
    now: datetime,
    *,
    place: Place | None = None,
) -> list[EventOut]:
    """Events shaped for the API. Names come from the rules snapshot (active units) and from
    `place` when the caller just located it; the rest are read in one query per table."""
    orgs: dict[int, Ref] = {}
    if place is not None:
        orgs[place.grid_id] = Ref(id=place.grid_id, code=place.grid_code, name=place.grid_name)
        orgs[place.village_id] = Ref(
            id=place.village_id, code=place.village_code, name=place.village_name
        )
        orgs[place.town_id] = Ref(id=place.town_id, code=place.town_code, name=place.town_name)
    units: dict[int, Ref] = {}
    for unit_id in {i for e in events for i in (e.owner_unit_id, e.proposed_unit_id) if i}:
        known = rules.units.by_id.get(unit_id)
        if known is not None and known.name:
            units[unit_id] = Ref(id=known.id, code=known.code, name=known.name)
    org_ids = {i for e in events for i in (e.grid_id, e.village_id, e.town_id)} - orgs.keys()
    if org_ids:
        query = select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(org_ids))
        orgs.update((r.id, Ref(id=r.id, code=r.code, name=r.name)) for r in db.execute(query))
    unit_ids = {i for e in events for i in (e.owner_unit_id, e.proposed_unit_id) if i}
    if unit_ids - units.keys():
        query = select(Unit.id, Unit.code, Unit.name).where(Unit.id.in_(unit_ids - units.keys()))
        units.update((r.id, Ref(id=r.id, code=r.code, name=r.name)) for r in db.execute(query))

    def ref(rows: dict[int, Ref], key: int | None) -> Ref | None:
        return None if key is None else rows.get(key)

    out = []
    for e in events:
        out.append(
            EventOut(
                id=e.id,
                code=e.code,
                title=e.title,
                description=e.description,
                category=e.category_code,
                category_name=e.category_name,
                major_code=e.major_code,
                major_name=e.major_name,
                platform=e.platform,
                level=e.level,
                urgent=e.urgent,
                source=e.source,
                reporter_id=e.reporter_id,
                contact_phone=mask_phone(
                    e.contact_phone, principal, subject=("event", e.id), field="contact_phone"
                ),
                lat=e.lat,
                lng=e.lng,
                address=e.address,
                grid=ref(orgs, e.grid_id),
                village=ref(orgs, e.village_id),
                town=ref(orgs, e.town_id),
                status=e.status,
                light=service.light_of(e, now),
                pending_action=e.pending_action,
                owner_unit=ref(units, e.owner_unit_id),
                proposed_unit=ref(units, e.proposed_unit_id),
                routing_state=e.routing_state,
                routing_rule_id=e.routing_rule_id,
                due_at=e.due_at,
                yellow_at=e.yellow_at,
                remind_at=e.remind_at,
                reminded_at=e.reminded_at,
                overdue_at=e.overdue_at,
                escalation_rung=e.escalation_rung,
                escalation_rung_name=RUNG_ZH[e.escalation_rung],
                created_at=e.created_at,
                updated_at=e.updated_at,
                accepted_at=e.accepted_at,
                dispatched_at=e.dispatched_at,
                signed_at=e.signed_at,
                handled_at=e.handled_at,
                closed_at=e.closed_at,
                paused_seconds=e.paused_seconds,
                rework_count=e.rework_count,
                return_count=e.return_count,
                duplicate_of_id=e.duplicate_of_id,
                satisfaction=e.satisfaction,
                result=e.result,
                version=e.version,
                actions=service.allowed_actions(e, principal, rules),
            )
        )
    return out


def event_out(
    db: Session,
    rules: Rules,
    event: Event,
    principal: Principal,
    now: datetime,
    *,
    place: Place | None = None,
) -> EventOut:
    return event_outs(db, rules, [event], principal, now, place=place)[0]


def detail_out(
    db: Session, rules: Rules, event: Event, principal: Principal, now: datetime
) -> EventDetail:
    rows = event_trail.trail(db, event.id)
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    actors = (
        {u.id: u for u in db.execute(select(User.id, User.username, User.name).where(User.id.in_(actor_ids)))}
        if actor_ids
        else {}
    )  # fmt: skip
    trail = [
        TrailRow(
            seq=r.seq,
            at=r.at,
            actor=Ref(id=r.actor_id, code=actors[r.actor_id].username, name=actors[r.actor_id].name)
            if r.actor_id in actors
            else None,
            action=r.action,
            from_status=r.from_status,
            to_status=r.to_status,
            unit_id=r.unit_id,
            note=r.note,
            payload=r.payload or {},
            hash=r.hash,
        )
        for r in rows
    ]
    filed = trail[0].payload.get("answers", {}) if trail else {}
    return EventDetail(
        **event_out(db, rules, event, principal, now).model_dump(),
        trail=trail,
        attachments=[attachment_out(a) for a in service.attachments(db, event.id)],
        answers=[
            AnswerOut(code=code, question=question, answer=answer)
            for code, (question, answer) in zip(
                filed, describe(rules.intakes.get(event.category_code), filed), strict=True
            )
        ],
    )

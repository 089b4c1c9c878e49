"""The event API: file, list, export, read, act on, and add photos to events."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from datetime import datetime
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
from fengqiao.deps import AppClock, AppDatabase, AppReadDatabase, AppSettings, CurrentPrincipal
from fengqiao.errors import Problem, from_pydantic, invalid, not_found
from fengqiao.events import export_rows, filing, proof, queries, resident, service, steps, uploads
from fengqiao.events import trail as event_trail
from fengqiao.events.areas import area_refs, resolve_areas
from fengqiao.events.escalation import EscalationPolicy, rung_name
from fengqiao.events.models import Attachment, Event
from fengqiao.events.part_views import joint_fields, parts_by_event
from fengqiao.events.photos import PhotoInfo, PhotoStore
from fengqiao.events.proof import ProofPolicy
from fengqiao.events.schemas import (
    AnswerOut,
    AttachmentKind,
    AttachmentOut,
    BatchIn,
    BatchOut,
    BatchResult,
    DuplicateOut,
    EventCreate,
    EventCreated,
    EventDetail,
    EventListOut,
    EventOut,
    Ref,
    TrailRow,
    TransitionChainIn,
    TransitionIn,
)
from fengqiao.exports import csv_download, stamped
from fengqiao.geo.deps import Locator
from fengqiao.geo.service import Place
from fengqiao.org.models import OrgUnit, Unit
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
        if "origin" in fields:  # one per photo (the upload contract, events/uploads.py)
            fields["origin"] = [v for v in form.getlist("origin") if isinstance(v, str)]
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
    capture = uploads.take_capture(fields, photos=len(files), now=clock.now())
    try:
        data = EventCreate.model_validate(fields)
    except ValidationError as exc:
        raise from_pydantic(exc.errors()) from exc
    place = locator.locate(data.lng, data.lat, data.crs)
    hidden = settings.open311_hidden_majors  # classes a resident may not file in
    if files:

        def precheck() -> None:
            with database.session() as db:
                filing.check_filing(app_rules(request, db), principal, data, hidden=hidden)

        await run_in_threadpool(precheck)  # refuse before any photo is stored
    photos = capture.apply(await _save_photos(_photos(request), files))
    now = clock.now()

    def write() -> tuple[EventCreated, bool]:
        with database.transaction() as db:
            rules = app_rules(request, db)
            event, duplicates, created = filing.file_or_replay(
                db=db, rules=rules, place=place, principal=principal, data=data, now=now,
                photos=photos, idempotency_key=idempotency_key,
                duplicate_radius_m=settings.duplicate_radius_m,
                duplicate_days=settings.duplicate_days, hidden=hidden,
            )  # fmt: skip
            out = event_out(
                db, rules, event, principal, now, place=place if created else None,
                supervised=None if not created else set(),  # a new event has no order yet
            )  # fmt: skip
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


SortParam = Annotated[
    str | None,
    Query(
        max_length=32,
        description="Order: " + ", ".join(queries.SORTS) + " (`-`: descending). Default "
        "`-created_at`; with `task` `urgency` (red, then yellow, then the nearest deadline). "
        "Ties go by id; the cursor keeps the order.",
    ),
]


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
    database: AppReadDatabase,
    filters: Annotated[queries.EventFilters, Depends(queries.event_filters)],
    sort: SortParam = None,
    cursor: Annotated[str | None, Query(description="next_cursor of the previous page.")] = None,
    size: Annotated[int, Query(ge=1, le=500)] = 50,
    count: Annotated[bool, Query(description="Also count all matching events.")] = False,
) -> Response:
    """Events the caller may read, newest first unless `sort` says otherwise (a task list: the
    most urgent first). Answers carry an ETag (`If-None-Match` gets a 304 while nothing
    changed) and are cached for a few seconds per caller and query; a filing or a step shows in
    the next read (docs/api.md, caching)."""
    now = clock.now()
    order = queries.parse_sort(sort, filters.task)
    cache: ReadCache = request.app.state.read_cache
    # The caller whole (scope, roles, unit: the actions and masked phones differ) and the query.
    key = ("events", principal, tuple(sorted(request.query_params.multi_items())))
    mark = await cache.mark(*database.mark_reader("events", queries.read_change_mark))
    answer = cache.peek(key, mark, now)  # a hit costs no thread hop and no session
    if answer is not None:
        return respond(request, answer)

    def make() -> Answer:
        with database.session() as db:
            resolve_areas(db, filters, principal)
            rules = app_rules(request, db)
            districts = queries.list_districts(filters, principal, rules.town_districts)
            rows, next_cursor = queries.page(db, filters, principal, now, sort=order, cursor=cursor, size=size, districts=districts)  # fmt: skip
            items = event_outs(db, rules, rows, principal, now)
            total = queries.count(db, filters, principal, now, districts) if count else None
        out = EventListOut(items=items, next_cursor=next_cursor, total=total)
        body = out.model_dump_json(by_alias=True).encode()
        return make_answer(out, body, media_type="application/json", made_at=now, mark=mark)

    answer = await run_in_threadpool(cache.get_or_make, key, mark, now, make)
    return respond(request, answer)


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
    database: AppReadDatabase,
    settings: AppSettings,
    filters: Annotated[queries.EventFilters, Depends(queries.event_filters)],
    sort: SortParam = None,
) -> StreamingResponse:
    """The same filters and order as the list, as a UTF-8 CSV with Chinese headers and Chinese
    words for every code (opens in Excel)."""
    now = clock.now()
    order = queries.parse_sort(sort, filters.task)
    with database.session() as db:  # a refusal before the first byte is sent
        resolve_areas(db, filters, principal)

    def rows() -> Iterator[list[Any]]:
        with database.session() as db:
            names = export_rows.names(db)
            for event in queries.stream(
                db, filters, principal, now, sort=order, limit=settings.export_max_rows
            ):
                yield export_rows.row(event, names, now)

    return csv_download(export_rows.HEADERS, rows(), filename=stamped("events", now))


@router.post(
    "/events/batch",
    response_model=BatchOut,
    summary="Take one step (受理 or 交办) on several selected events, each with its own result",
)
def post_batch(
    body: BatchIn,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
) -> BatchOut:
    """`accept` or `dispatch` (to each event's proposed unit) on at most
    `FENGQIAO_EVENT_BATCH_MAX` events, in the order given. Each event is checked and stored as
    `POST /events/{id}/transitions` would (scope, actor, state, version) in a transaction of its
    own: one refusal never undoes or stops the others, and each result says what happened."""
    limit = settings.event_batch_max
    if len(body.items) > limit:
        raise invalid("items", f"at most {limit} events at once", f"一次最多处理 {limit} 件事件")
    ids = [item.id for item in body.items]
    if len(set(ids)) != len(ids):
        raise invalid("items", "an event is named twice", "同一事件出现了两次")
    now = clock.now()
    escalation = EscalationPolicy.from_settings(settings)
    results = []
    for item in body.items:
        data = TransitionIn(action=body.action, version=item.version, note=body.note)
        try:
            with database.transaction() as db:
                rules = app_rules(request, db)
                event = steps.transition(
                    db=db, rules=rules, principal=principal, event_id=item.id, data=data,
                    now=now, escalation=escalation,
                )  # fmt: skip
                out = event_out(db, rules, event, principal, now)
        except Problem as problem:
            results.append(
                BatchResult(id=item.id, ok=False, status=problem.status, problem=problem.body())
            )
            continue
        results.append(BatchResult(id=item.id, ok=True, status=200, event=out))
    done = sum(result.ok for result in results)
    return BatchOut(action=body.action, done=done, refused=len(results) - done, results=results)


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
    """Any action of docs/workflow.md's table, the co-handling parts' (add_assist, sign_part,
    feedback_part, waive_part) included.
    Send the `version` you read; a stale one is a 409 and nothing changes.
    """
    now = clock.now()
    with database.transaction() as db:
        rules = app_rules(request, db)
        event = steps.transition(
            db=db, rules=rules, principal=principal, event_id=event_id, data=body, now=now,
            escalation=EscalationPolicy.from_settings(settings),
            proof=ProofPolicy.from_settings(settings),
        )  # fmt: skip
        return detail_out(db, rules, event, principal, now)


@router.post(
    "/events/{event_id}/transitions/chain",
    response_model=EventDetail,
    summary="Take several steps at once (e.g. accept and dispatch), all or none",
    responses={
        403: {"description": "Not yours to do"},
        409: {"description": "Wrong state or stale version"},
    },
)
def post_transition_chain(
    event_id: int,
    body: TransitionChainIn,
    request: Request,
    principal: CurrentPrincipal,
    clock: AppClock,
    database: AppDatabase,
    settings: AppSettings,
) -> EventDetail:
    """Up to three steps, each checked as if taken alone on the version the one before left; a
    refusal of any step stores none of them (the refusal names the step: `steps[i]`)."""
    now = clock.now()
    with database.transaction() as db:
        rules = app_rules(request, db)
        version = body.version
        event = None
        for index, fields in enumerate(body.steps):
            data = TransitionIn(**fields.model_dump(), version=version)
            try:
                event = steps.transition(
                    db=db, rules=rules, principal=principal, event_id=event_id, data=data,
                    now=now, escalation=EscalationPolicy.from_settings(settings),
                    proof=ProofPolicy.from_settings(settings),
                )  # fmt: skip
            except Problem as problem:
                # Name the step the refusal is about; nothing of the chain is stored.
                problem.errors = [
                    dataclasses.replace(e, field=f"steps[{index}].{e.field}")
                    for e in problem.errors
                ]
                problem.extra = {**(problem.extra or {}), "step": index}
                raise
            version = event.version
        assert event is not None  # steps has at least one item
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
        AttachmentKind | None,
        Query(
            description="report, before, after or verify (evidence, near, far: older kinds). "
            "Left out: report until the event is dispatched, verify while it waits for "
            "verification, after otherwise."
        ),
    ] = None,
) -> list[AttachmentOut]:
    """Photos checked by content, stored by hash; the upload is on the event's trail. Besides
    the `photos` files the form may say, per photo and in order, `origin` (camera or album),
    and once the phone's position at upload: `device_lat`, `device_lng`, `device_accuracy`
    (metres), `device_at` (ISO time with offset)."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise Problem(
            415, "unsupported-media-type", "Send multipart/form-data", "请以 multipart/form-data 上传",
            "upload photos as multipart/form-data files named `photos`",
            "请以 multipart/form-data 方式上传，字段名为 photos",
        )  # fmt: skip
    fields, files = await _read_submission(request, settings.photos_per_event)
    if not files:
        raise invalid("photos", "no photo in the upload", "未上传照片")
    now = clock.now()
    capture = uploads.take_capture(fields, photos=len(files), now=now)

    def check() -> None:
        with database.session() as db:
            service.get_event(db=db, principal=principal, event_id=event_id)

    await run_in_threadpool(check)  # 404 before the files are stored
    photos = capture.apply(await _save_photos(_photos(request), files))

    def write() -> list[AttachmentOut]:
        with database.transaction() as db:
            event = service.get_event(db=db, principal=principal, event_id=event_id, lock=True)
            rows = service.add_attachments(
                db=db, principal=principal, event=event, photos=photos,
                kind=kind or proof.default_kind(event.status), now=now,
            )  # fmt: skip
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
        event = service.get_event(db=db, principal=principal, event_id=event_id)
        attachment = db.scalar(
            select(Attachment).where(
                Attachment.id == attachment_id, Attachment.event_id == event_id
            )
        )
        if attachment is None or not resident.may_see(principal, event, attachment):
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
        height=a.height, taken_at=a.taken_at, lat=a.lat, lng=a.lng, origin=a.origin,
        device_lat=a.device_lat, device_lng=a.device_lng, device_accuracy=a.device_accuracy,
        device_at=a.device_at, url=f"/api/v1/events/{a.event_id}/attachments/{a.id}",
        public=a.public,
    )  # fmt: skip


def event_outs(
    db: Session,
    rules: Rules,
    events: Sequence[Event],
    principal: Principal,
    now: datetime,
    *,
    place: Place | None = None,
    supervised: set[int] | None = None,
) -> list[EventOut]:
    """Events shaped for the API. Names come from the rules snapshot (active units) and from
    `place` when the caller just located it; the rest are read in one query per table, and
    which are supervised (督办) in one more, unless the caller knows (`supervised`)."""
    if supervised is None:
        supervised = queries.supervised(db, [e.id for e in events])
    joint = parts_by_event(db, events)  # a joint event's parts say who may act on them
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

    areas = area_refs(db, rules, events)
    out = []
    for e in events:
        city, district = areas.get(e.town_id, (None, None))
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
                district=district,
                city=city,
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
                escalation_rung_name=rung_name(
                    e.escalation_rung, district.name if district else None
                ),
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
                actions=service.allowed_actions(e, principal, rules, joint.get(e.id, ())),
                supervised=e.id in supervised,
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
    supervised: set[int] | None = None,
) -> EventOut:
    return event_outs(db, rules, [event], principal, now, place=place, supervised=supervised)[0]


def detail_out(
    db: Session, rules: Rules, event: Event, principal: Principal, now: datetime
) -> EventDetail:
    rows = event_trail.trail(db, event.id, event.created_at, event.district_id)
    actor_ids = {r.actor_id for r in rows if r.actor_id}
    actors = {u.id: u for u in db.execute(select(User.id, User.username, User.name).where(User.id.in_(actor_ids)))} if actor_ids else {}  # fmt: skip
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
    detail = EventDetail(
        **event_out(db, rules, event, principal, now).model_dump(),
        **joint_fields(db, rules, event, now),
        trail=trail,
        attachments=[attachment_out(a) for a in service.attachments(db, event.id)],
        answers=[
            AnswerOut(code=code, question=question, answer=answer)
            for code, (question, answer) in zip(
                filed, describe(rules.intakes.get(event.category_code), filed), strict=True
            )
        ],
    )
    return detail if principal.is_staff() else resident.for_reporter(db, detail, event)

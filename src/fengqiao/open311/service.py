"""Open311 GeoReport v2 over the event center: services from the taxonomy, requests as events.

A request (read and checked in `parsing.py`) becomes an event with source `open311` filed by the
API key's account through `file_or_replay` of the event center; what the resident says about
themselves stays in `open311_request`. Reads publish fixed words per state, never staff's free
text; refusals are counted by reason.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import String, Table, func, insert, select, type_coerce
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.auth.security import api_key_prefix
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import from_pydantic, invalid
from fengqiao.events.filing import file_or_replay
from fengqiao.events.models import Event
from fengqiao.events.photos import PhotoInfo
from fengqiao.events.schemas import EventCreate
from fengqiao.events.scope import event_scope, sees_whole_district
from fengqiao.geo.service import Place
from fengqiao.open311 import updates
from fengqiao.open311.models import Open311Refusal, Open311Request
from fengqiao.open311.parsing import (
    REFUSAL_REASONS,
    Open311Error,
    RequestQuery,
    Submission,
    answers_of,
    from_problem,
    refuse,
)
from fengqiao.open311.render import iso
from fengqiao.scope import Principal
from fengqiao.taxonomy.models import Category, CategoryMajor
from fengqiao.taxonomy.public import hidden_codes as public_hidden_codes
from fengqiao.taxonomy.snapshot import Rules

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
# The changeset when no class exists yet (an empty database).
EMPTY_CHANGESET = "2000-01-01T00:00:00+08:00"

# Our states that are over for the resident; every other state is "open".
CLOSED_STATES = frozenset({"closed", "rejected", "voided", "merged"})


# --- services ---------------------------------------------------------------------------------


# The one rule of hidden classes (taxonomy/public.py), shared with the residents' app.
hidden_codes = public_hidden_codes


def unknown_service(service_code: str) -> Open311Error:
    """The refusal of a POST to an unknown or hidden class: the same words for both, so a
    hidden class cannot be told from one that does not exist."""
    return from_problem(
        invalid(
            "category", f"unknown or retired class {service_code!r}",
            f"事件分类 {service_code} 不存在或已停用",
        )
    )  # fmt: skip


def list_services(*, db: Session, rules: Rules, hidden: Collection[str]) -> list[dict[str, Any]]:
    """Every active minor class not hidden as a service: its major class is the group;
    `metadata` says whether it asks extra questions (then `services/{code}` lists them)."""
    rows = db.execute(
        select(Category.code, Category.name_zh, Category.filing_condition, CategoryMajor.name_zh)
        .join(CategoryMajor, CategoryMajor.code == Category.major_code)
        .where(Category.active.is_(True))
        .order_by(Category.code)
    ).all()
    services = []
    for code, name, condition, group in rows:
        if code in hidden:
            continue
        intake = rules.intakes.get(code)
        services.append(
            {
                "service_code": code,
                "service_name": name,
                "description": condition or name,
                "metadata": bool(intake and intake.questions),
                "type": "realtime",
                "keywords": ",".join(intake.keywords) if intake else "",
                "group": group,
            }
        )
    return services


def service_definition(
    *, rules: Rules, service_code: str, hidden: Collection[str]
) -> dict[str, Any]:
    """The extra questions of one active class, as the spec's attributes (404 when unknown or
    hidden); `order` counts from 1, the first shown first."""
    category = rules.categories.get(service_code)
    if category is None or not category.active or service_code in hidden:
        raise refuse(
            404, "not_found", f"no service with service_code {service_code!r}",
            f"不存在 service_code 为 {service_code} 的服务",
        )  # fmt: skip
    intake = rules.intakes.get(service_code)
    questions = sorted(intake.questions, key=lambda q: q.order) if intake else []
    # Our questions count from 0; GeoReport v2 clients show the lowest first, counting from 1.
    return {
        "service_code": service_code,
        "attributes": [
            {
                "variable": True,
                "code": q.code,
                "datatype": q.datatype,
                "required": q.required,
                "datatype_description": "",
                "order": position,
                "description": q.description,
                "values": [{"key": key, "name": name} for key, name in q.values],
            }
            for position, q in enumerate(questions, start=1)
        ],
    }


def changeset(*, db: Session) -> str:
    """When the services last changed: the newest `updated_at` of the classes (editing a class,
    retiring it or replacing its extra questions moves it), to the microsecond."""
    newest = db.scalar(select(func.max(Category.updated_at)))
    if newest is None:
        return EMPTY_CHANGESET
    if newest.tzinfo is None:  # SQLite's max() comes back as stored: naive UTC
        newest = newest.replace(tzinfo=UTC)
    return newest.astimezone(LOCAL_TZ).isoformat(timespec="microseconds")


def discovery(*, base_url: str, changeset: str) -> dict[str, Any]:
    """Where the endpoint is and what it speaks."""
    return {
        "changeset": changeset,
        "contact": "Fengqiao 枫桥 — the district's command centre (综合信息指挥中心)",
        "key_service": "Ask the district's administrator for an API key (fengqiao apikeys create "
        "or POST /api/v1/api-keys) / 向区管理员申请 API 密钥",
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": f"{base_url}/open311/v2",
                "changeset": changeset,
                "type": "production",
                "formats": ["application/json", "text/xml"],
            }
        ],
    }


# The last line of the event's description that shows staff the resident's photo link.
MEDIA_LINE = "附图："
# The same line as events filed before the punctuation was made full-width wrote it.
LEGACY_MEDIA_LINE = "附图:"
DESCRIPTION_MAX = 4000  # the event's description (events.schemas.EventCreate)


def description_of(submission: Submission) -> str:
    """The event's description: the resident's text, and each photo's link as a last line
    (staff read the event, not the Open311 row)."""
    description = submission.get("description") or ""
    if not submission.media_urls:
        return description
    line = "\n".join(f"{MEDIA_LINE}{url}" for url in submission.media_urls)
    if len(description) + 1 + len(line) > DESCRIPTION_MAX:
        most = max(0, DESCRIPTION_MAX - 1 - len(line))
        raise refuse(
            400, "bad_request",
            f"description: at most {most} characters together with this media_url",
            f"description：附带该 media_url 时最多 {most} 个字符",
        )  # fmt: skip
    return f"{description}\n{line}" if description else line


def resident_description(description: str, media_urls: str | Sequence[str] | None) -> str:
    """The resident's own text of an event's description (without the photo lines we added)."""
    urls = [media_urls] if isinstance(media_urls, str) else list(media_urls or ())
    for media_url in reversed(urls):
        for label in (MEDIA_LINE, LEGACY_MEDIA_LINE):
            line = f"{label}{media_url}"
            if description.endswith(line):
                description = description[: -len(line)].rstrip("\n")
                break
    return description


def event_data(submission: Submission, rules: Rules, place: Place) -> EventCreate:
    """What the event center files for this submission at its place (the resident's name,
    e-mail and ids stay out of the event; the phone is the event's contact phone, masked to
    most staff; the photos' links are the description's last lines; answers to questions the
    class does not ask stay in the Open311 row)."""
    answers, _unasked = answers_of(submission, rules)
    try:
        return EventCreate(
            source="open311",
            category=submission.service_code,
            description=description_of(submission),
            lat=place.lat,
            lng=place.lng,
            address=submission.get("address_string") or "",
            contact_phone=submission.get("phone"),
            answers=answers,
        )
    except ValidationError as exc:
        raise from_problem(from_pydantic(exc.errors())) from exc


def new_token() -> str:
    return secrets.token_urlsafe(12)


# Crockford's base 32 without I, L, O, U: read aloud and typed without confusion.
_ID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def new_public_id() -> str:
    """An opaque request id, e.g. `R7K3M9X2PQA4`: 55 random bits, so it says nothing about how
    many events were filed (the event code counts a town's events of the day)."""
    return "R" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(11))


def submit(
    *,
    db: Session,
    rules: Rules,
    place: Place,
    principal: Principal,
    submission: Submission,
    hidden: Collection[str],
    now: datetime,
    idempotency_key: str | None = None,
    duplicate_radius_m: float = 100.0,
    duplicate_days: float = 7.0,
    photos: Sequence[PhotoInfo] = (),
    located_by: str = "lat_long",
) -> tuple[Event, str, str]:
    """File the submission as an event (with its uploaded photos) and keep its Open311 row;
    (event, public id, token). A retry with the same Idempotency-Key returns the first. A
    hidden class is refused as an unknown one."""
    if submission.service_code in hidden:
        raise unknown_service(submission.service_code)
    data = event_data(submission, rules, place)
    event, _duplicates, created = file_or_replay(
        db=db, rules=rules, place=place, principal=principal, data=data, now=now,
        idempotency_key=idempotency_key, duplicate_radius_m=duplicate_radius_m,
        duplicate_days=duplicate_days, photos=list(photos),
    )  # fmt: skip
    if not created:
        first = db.execute(
            select(Open311Request.public_id, Open311Request.token).where(
                Open311Request.event_id == event.id
            )
        ).first()
        if first is not None:
            return event, first.public_id or event.code, first.token
    token = new_token()
    public_id = new_public_id()
    _answers, unasked = answers_of(submission, rules)
    extra: dict[str, Any] = {}
    if submission.extra:
        extra["fields"] = submission.extra
    if unasked:
        extra["attributes"] = unasked
    db.execute(
        insert(Open311Request),
        {
            "event_id": event.id,
            "token": token,
            "created_at": event.created_at,
            "service_code": submission.service_code,
            "api_key_prefix": api_key_prefix(submission.api_key) or "",
            "media_url": submission.media_url,
            "media_urls": submission.media_urls or None,
            "public_id": public_id,
            "extra": extra or None,
            "located_by": located_by,
            "jurisdiction_id": submission.get("jurisdiction_id"),
            "email": submission.get("email"),
            "first_name": submission.get("first_name"),
            "last_name": submission.get("last_name"),
            "phone": submission.get("phone"),
            "device_id": submission.get("device_id"),
            "account_id": submission.get("account_id"),
            "address_id": submission.get("address_id"),
            "address_string": submission.get("address_string"),
        },
    )
    return event, public_id, token


def service_notice(due_at: datetime | None) -> str:
    """What the resident may expect, in Chinese."""
    if due_at is None:
        return "已收到，指挥室受理后将派遣责任单位处置。"
    local = due_at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M")
    return f"已收到，指挥室受理后将派遣责任单位处置，处置时限 {local}。"


# --- reading ----------------------------------------------------------------------------------

_requests = cast(Table, Open311Request.__table__)
_events = cast(Table, Event.__table__)
_COLUMNS = (
    _events.c.id,
    _events.c.code,
    _events.c.status,
    _events.c.category_code,
    _events.c.category_name,
    _events.c.description,
    _events.c.owner_unit_id,
    # As stored: SQLite's text is parsed by `iso` several times faster than by SQLAlchemy's
    # DateTime (a page holds 3,000 times); PostgreSQL's driver returns datetimes either way.
    type_coerce(_events.c.created_at, String()).label("created_at"),
    type_coerce(_events.c.updated_at, String()).label("updated_at"),
    type_coerce(_events.c.due_at, String()).label("due_at"),
    _events.c.address,
    _events.c.lat,
    _events.c.lng,
    _requests.c.media_url,
    _requests.c.media_urls,
    _requests.c.public_id,
    _requests.c.address_id,
    _requests.c.account_id,
    _requests.c.api_key_prefix,
)

# What the public reads of each state: fixed words, the owner unit's name at most. Never the
# trail's notes, reasons or the handler's result: staff type free text there (names, ID
# numbers, phone numbers of third persons) that must not be published.
STATUS_NOTES: dict[str, str] = {
    "reported": "已收到，待受理",
    "accepted": "已受理",
    "dispatched": "已派遣至{unit}",
    "signed": "{unit}处置中",
    "handled": "已处置，待核查",
    "self_handled": "已现场处置，待办结",
    "suspended": "暂缓办理",
    "closed": "已办结",
    "rejected": "不予受理",
    "voided": "已作废",
    "merged": "已合并至其他事件",
}
# The same two notes without a unit (an event whose owner is unknown to this snapshot).
_NO_UNIT = {"dispatched": "已派遣", "signed": "处置中"}


def status_notes(state: str, unit: str) -> str:
    """The public note of a state: fixed Chinese words and the owner unit's name only."""
    if not unit and state in _NO_UNIT:
        return _NO_UNIT[state]
    return STATUS_NOTES.get(state, "处理中").format(unit=unit)


def request_rows(
    rules: Rules, rows: Sequence[Any], *, key_prefix: str | None = None
) -> list[dict[str, Any]]:
    """Spec-shaped requests for rows of `_COLUMNS`: status, a public note of the state, the
    owner unit, the deadline, what the filing client sent as address_id; never the resident's
    personal data nor staff's free text. `account_id` is echoed only to the key that filed it
    (`key_prefix`): it is the client's id of its user."""
    names = {unit_id: unit.name for unit_id, unit in rules.units.by_id.items()}
    out = []
    # Unpacked in `_COLUMNS` order: a Row's attribute access cost more than the rest of the loop.
    for row in rows:
        (_event_id, code, state, category_code, category_name, description, owner_unit_id,
         created_at, updated_at, due_at, address, lat, lng, media_url, media_urls, public_id,
         address_id, account_id, filed_by) = row  # fmt: skip
        unit = names.get(owner_unit_id, "") if owner_unit_id is not None else ""
        urls = media_urls or ([media_url] if media_url else [])
        # Open311 knows open and closed; closed, rejected, voided and merged are over for
        # the resident.
        closed = state in CLOSED_STATES
        out.append(
            {
                "service_request_id": public_id or code,
                "status": "closed" if closed else "open",
                "status_notes": status_notes(state, unit),
                "service_name": category_name,
                "service_code": category_code,
                "description": resident_description(description, urls),
                "agency_responsible": unit,
                "service_notice": "" if closed else service_notice(_due(due_at)),
                "requested_datetime": iso(created_at),
                "updated_datetime": iso(updated_at),
                "expected_datetime": iso(due_at),
                "address": address,
                "address_id": address_id,
                "account_id": account_id if key_prefix and key_prefix == filed_by else None,
                "zipcode": None,
                "lat": lat,
                "long": lng,
                "media_url": urls[0] if urls else None,
            }
        )
    return out


def _due(due_at: datetime | str | None) -> datetime | None:
    if due_at is None or isinstance(due_at, datetime):
        return due_at
    moment = datetime.fromisoformat(due_at)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _visible(hidden: Collection[str]) -> Any:
    """The clause that keeps events of hidden classes out (by the event's class now, so a
    request staff reclassified into a hidden class disappears too); None: nothing hidden."""
    if not hidden:
        return None
    # `+ ''`: a filter on the row read by key, never a reason to drive from the class index.
    return (_events.c.category_code + "").not_in(sorted(hidden))


def _base(hidden: Collection[str]) -> Any:
    statement = (
        select(*_COLUMNS).select_from(_requests).join(_events, _events.c.id == _requests.c.event_id)
    )
    visible = _visible(hidden)
    return statement if visible is None else statement.where(visible)


def event_ids_of(db: Session, ids: Collection[str]) -> list[int]:
    """The events of service_request_ids: opaque public ids, and event codes (the ids of
    requests filed before the public ids, and the receipts residents hold)."""
    by_public, by_code = id_lookups(ids)
    return sorted(set(db.scalars(by_public)) | set(db.scalars(by_code)))


def id_lookups(ids: Collection[str]) -> tuple[Any, Any]:
    """The two unique-index lookups of service_request_ids: by public id, by event code."""
    return (
        select(_requests.c.event_id).where(_requests.c.public_id.in_(list(ids))),
        select(_events.c.id).where(_events.c.code.in_(list(ids))),
    )


def get_request(
    *,
    db: Session,
    rules: Rules,
    service_request_id: str,
    hidden: Collection[str],
    key_prefix: str | None = None,
    extensions: bool = False,
) -> dict[str, Any]:
    """One request filed through Open311 in a class not hidden, by its service_request_id
    (its public id, or the event's code)."""
    event_ids = event_ids_of(db, [service_request_id])
    row = (
        db.execute(_base(hidden).where(_requests.c.event_id.in_(event_ids))).first()
        if event_ids
        else None
    )
    if row is None:
        raise refuse(
            404, "not_found", f"no request with service_request_id {service_request_id!r}",
            f"不存在编号为 {service_request_id} 的诉求",
        )  # fmt: skip
    return with_extensions(db, rules, [row], key_prefix=key_prefix, extensions=extensions)[0]


def request_of_token(*, db: Session, token: str, hidden: Collection[str]) -> dict[str, Any]:
    """`{service_request_id, token}` of a token handed out by POST requests (404 when its
    event's class is hidden)."""
    statement = (
        select(func.coalesce(_requests.c.public_id, _events.c.code))
        .select_from(_requests)
        .join(_events, _events.c.id == _requests.c.event_id)
        .where(_requests.c.token == token)
    )
    visible = _visible(hidden)
    code = db.scalar(statement if visible is None else statement.where(visible))
    if code is None:
        raise refuse(404, "not_found", f"no request with token {token!r}", f"令牌 {token} 不存在")
    return {"service_request_id": code, "token": token}


def _status_clause(statuses: tuple[str, ...]) -> Any:
    if set(statuses) in ({"open", "closed"}, set()):
        return None
    # `+ ''` keeps SQLite from driving the page from the event table's status index (the
    # Open311 rows by time are the narrow walk; each event is then read by its key).
    closed = (_events.c.status + "").in_(sorted(CLOSED_STATES))
    return closed if statuses == ("closed",) else ~closed


def list_requests_statement(
    query: RequestQuery, hidden: Collection[str], event_ids: Collection[int] = ()
) -> Any:
    """The SELECT of one page (hidden classes left out): the events of the ids asked for;
    otherwise the Open311 rows by time (their own narrow index), each event read by its key."""
    statement = _base(hidden)
    if query.ids:
        statement = statement.where(_requests.c.event_id.in_(sorted(event_ids)))
    else:
        assert query.start is not None and query.end is not None
        statement = statement.where(
            _requests.c.created_at >= query.start, _requests.c.created_at <= query.end
        )
        if query.service_codes:
            # `+ ''` keeps SQLite from driving the join from the big event table's class index.
            statement = statement.where((_events.c.category_code + "").in_(query.service_codes))
        status = _status_clause(query.statuses)
        if status is not None:
            statement = statement.where(status)
    return statement.order_by(_requests.c.created_at.desc(), _requests.c.event_id.desc())


def list_requests(
    *,
    db: Session,
    rules: Rules,
    query: RequestQuery,
    hidden: Collection[str],
    key_prefix: str | None = None,
    extensions: bool = False,
) -> list[dict[str, Any]]:
    """One page of requests in classes not hidden, newest first; a page after the last one is
    an empty list (as the spec's clients page until they get one)."""
    offset = (query.page - 1) * query.page_size
    event_ids = event_ids_of(db, query.ids) if query.ids else []
    if query.ids and not event_ids:
        return []
    statement = list_requests_statement(query, hidden, event_ids)
    rows = db.execute(statement.limit(query.page_size).offset(offset)).all()
    return with_extensions(db, rules, rows, key_prefix=key_prefix, extensions=extensions)


def with_extensions(
    db: Session, rules: Rules, rows: Sequence[Any], *, key_prefix: str | None, extensions: bool
) -> list[dict[str, Any]]:
    """`request_rows`, each with its public timeline as `extended_attributes` when asked
    (`extensions=true`, the mySociety extension)."""
    shaped = request_rows(rules, rows, key_prefix=key_prefix)
    if extensions:
        found = updates.timelines(db=db, rules=rules, event_ids=[row[0] for row in rows])
        for row, request in zip(rows, shaped, strict=True):
            request["extended_attributes"] = found.get(
                row[0], {"extended_status": "OPEN", "timeline": []}
            )
    return shaped


# --- refusals ---------------------------------------------------------------------------------


def count_refusal(*, db: Session, reason: str, now: datetime) -> None:
    """Add one to today's count of refusals for `reason`."""
    day = now.astimezone(LOCAL_TZ).date().isoformat()
    table = cast(Table, Open311Refusal.__table__)
    dialect = db.get_bind().dialect.name
    upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    db.execute(
        upsert.values(day=day, reason=reason, count=1).on_conflict_do_update(
            index_elements=["day", "reason"], set_={"count": table.c.count + 1}
        )
    )


def refusal_stats(
    *, db: Session, now: datetime, days: int, principal: Principal | None = None
) -> dict[str, Any]:
    """Refusals by reason over the last `days` local days, and the requests filed then. With a
    principal: the requests whose events they may read; refusals name no place, so only the
    district's staff (and the CLI) see them."""
    first = (now.astimezone(LOCAL_TZ).date() - timedelta(days=days - 1)).isoformat()
    district_wide = principal is None or sees_whole_district(principal)
    rows = (
        db.execute(
            select(Open311Refusal.day, Open311Refusal.reason, Open311Refusal.count)
            .where(Open311Refusal.day >= first)
            .order_by(Open311Refusal.day, Open311Refusal.reason)
        ).all()
        if district_wide
        else []
    )
    totals: dict[str, int] = {}
    for _day, reason, count in rows:
        totals[reason] = totals.get(reason, 0) + count
    since = datetime.combine(date.fromisoformat(first), time(), LOCAL_TZ)
    filed_query = select(func.count()).select_from(_requests).where(_requests.c.created_at >= since)
    if not district_wide:
        assert principal is not None
        filed_query = filed_query.where(
            _requests.c.event_id.in_(select(Event.id).where(event_scope(principal)))
        )
    filed = db.scalar(filed_query)
    return {
        "since": first,
        "requests_filed": int(filed or 0),
        "refusals": [
            {"reason": reason, "count": count, "meaning": REFUSAL_REASONS.get(reason, reason)}
            for reason, count in sorted(totals.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
        "by_day": [{"day": d, "reason": r, "count": c} for d, r, c in rows],
    }

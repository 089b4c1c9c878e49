"""The event center: filing an event from any source, and every step of the closed loop.

Each mutation follows one order: authorise → lock (version) → write → trail row → flush. The
caller owns the transaction and commits. Filing uses Core inserts (the hot path); transitions
load the event through the ORM.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import FieldError, Problem, conflict, forbidden, invalid, not_found
from fengqiao.events import workflow
from fengqiao.events.changes import queue_change, state_of
from fengqiao.events.escalation import EscalationPolicy, climb
from fengqiao.events.models import (
    Attachment,
    Event,
    EventLog,
    EventSequence,
    is_open,
)
from fengqiao.events.photos import PhotoInfo
from fengqiao.events.schemas import EventCreate, TransitionIn
from fengqiao.events.scope import grid_path, is_staff, may_read, unit_scoped
from fengqiao.events.trail import row_hash
from fengqiao.geo.distance import bounding_box, haversine_m
from fengqiao.geo.service import Place
from fengqiao.outbox.service import Directory, drafts_for, enqueue
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import Deadline, compute_deadline, extend_for_pause, light
from fengqiao.taxonomy.questions import Answer, check_answers
from fengqiao.taxonomy.routing import Proposal, UnitRef, propose
from fengqiao.taxonomy.snapshot import CategoryRef, Rules

# Which roles may file from which source; staff sources may also set the level and urgency.
SOURCE_ROLES: dict[str, frozenset[str]] = {
    "grid_worker": frozenset({"grid_worker", "grid_leader"}),
    "resident": frozenset({"resident"}),
    "hotline": frozenset({"operator"}),
    "inspection": frozenset({"operator", "leader"}),
    "video": frozenset({"operator", "device"}),
    "iot": frozenset({"device"}),
    "open311": frozenset({"device", "resident"}),
}
STAFF_SOURCES = frozenset({"grid_worker", "hotline", "inspection", "video"})
# Sources where no person fills the class's form: its required questions are not asked of them.
MACHINE_SOURCES = frozenset({"iot"})
SOURCE_ZH = {
    "grid_worker": "网格员上报", "resident": "群众上报", "hotline": "热线",
    "iot": "物联感知", "video": "视频发现", "inspection": "督查巡查", "open311": "Open311",
}  # fmt: skip
DEFAULT_ESCALATION = EscalationPolicy()


@dataclass(frozen=True)
class Duplicate:
    """An open event of the same class near a new one."""

    id: int
    code: str
    title: str
    status: str
    distance_m: float
    created_at: datetime


# --- filing -------------------------------------------------------------------------------


def check_source(principal: Principal, data: EventCreate) -> None:
    """Refuse a source the caller may not file from, and fields that source may not set."""
    allowed = SOURCE_ROLES[data.source]
    if principal.roles.isdisjoint(allowed):
        raise forbidden(
            f"your roles cannot file events from source {data.source!r}",
            f"您的角色不能以「{SOURCE_ZH[data.source]}」来源上报事件",
        )
    if data.source not in STAFF_SOURCES:
        for name in ("level", "urgent"):
            if getattr(data, name) is not None:
                raise invalid(
                    name,
                    f"a {data.source} report cannot set the {name}; the operator sets it",
                    "该来源的上报不能自行设定等级或紧急程度，由指挥室受理时设定",
                )


def check_filing(
    rules: Rules, principal: Principal, data: EventCreate
) -> tuple[CategoryRef, dict[str, Answer]]:
    """The checks that need no write: source, fields, class and the answers to its extra
    questions (run before photos are stored); the class and the answers as stored."""
    check_source(principal, data)
    category = rules.categories.get(data.category)
    if category is None or not category.active:
        raise invalid(
            "category",
            f"unknown or retired class {data.category!r}",
            f"事件分类 {data.category} 不存在或已停用",
        )
    answers = check_answers(
        rules.intakes.get(category.code), data.answers, class_name=category.name_zh,
        enforce_required=data.source not in MACHINE_SOURCES,
    )  # fmt: skip
    return category, answers


def find_existing(db: Session, *, reporter_id: int, key: str) -> Event | None:
    """The event this reporter filed earlier with the same Idempotency-Key."""
    return db.scalar(
        select(Event).where(Event.reporter_id == reporter_id, Event.idempotency_key == key)
    )


def next_code(db: Session, *, prefix: str, at: datetime) -> str:
    """A human event code: town prefix + local yyyymmdd + 4-digit sequence, unique under load."""
    day = at.astimezone(LOCAL_TZ).strftime("%Y%m%d")
    statement = _statements(db).next_code
    value = db.connection().execute(statement, {"prefix": prefix, "day": day}).scalar_one()
    return f"{prefix}-{day}-{value:04d}"


class _Statements:
    """The filing path's statements, built once per dialect so SQLAlchemy compiles them once.

    They are table-level Core statements executed on the session's connection with their values
    as parameters: the ORM's per-call statement building cost more than the database work.
    """

    def __init__(self, dialect: str) -> None:
        events, log = cast(Table, Event.__table__), cast(Table, EventLog.__table__)
        sequences, attachments = (
            cast(Table, EventSequence.__table__),
            cast(Table, Attachment.__table__),
        )
        upsert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(sequences)
        self.next_code = (
            upsert.values(prefix=bindparam("prefix"), day=bindparam("day"), value=1)
            .on_conflict_do_update(
                index_elements=["prefix", "day"], set_={"value": sequences.c.value + 1}
            )
            .returning(sequences.c.value)
        )
        self.insert_event = insert(events).returning(events.c.id)
        self.insert_log = insert(log)
        self.insert_attachment = insert(attachments).returning(attachments.c.id)
        self.trail_head = (
            update(events)
            .where(events.c.id == bindparam("event_id"))
            .values(trail_seq=bindparam("seq"), trail_hash=bindparam("digest"))
        )
        c = events.c
        # Squared distance in degrees of latitude (equirectangular, exact enough at 100 m): the
        # circle filter and the order run in SQL, so only the nearest few rows come back.
        north = c.lat - bindparam("lat")
        east = (c.lng - bindparam("lng")) * bindparam("lng_scale")
        squared = north * north + east * east
        self.duplicates = (
            select(c.id, c.code, c.title, c.status, c.lat, c.lng, c.created_at)
            .where(
                c.category_code == bindparam("category"),
                is_open(),
                c.lat.between(bindparam("lat_low"), bindparam("lat_high")),
                c.lng.between(bindparam("lng_low"), bindparam("lng_high")),
                squared <= bindparam("radius_squared"),
                c.created_at >= bindparam("since"),
                c.id != bindparam("event_id"),
            )
            .order_by(squared, c.id)
            .limit(bindparam("limit"))
        )


_STATEMENTS: dict[str, _Statements] = {}


def _statements(db: Session) -> _Statements:
    dialect = db.get_bind().dialect.name
    statements = _STATEMENTS.get(dialect)
    if statements is None:
        statements = _STATEMENTS[dialect] = _Statements(dialect)
    return statements


def serves(unit: UnitRef, *, village_id: int, town_id: int, district_id: int | None) -> bool:
    """Whether a unit may own an event of this place: a unit of its village, of its town, or a
    department of the district (the units the district names: those at its own org node)."""
    return unit.org_unit_id in (village_id, town_id, district_id)


def check_serves(rules: Rules, event: Event, unit_id: int) -> UnitRef:
    """The unit, or a 422 on `unit_id` when it is unknown, inactive or does not serve the event."""
    unit = rules.units.by_id.get(unit_id)
    if unit is None:
        raise invalid("unit_id", "unknown or inactive unit", "责任单位不存在或已停用")
    if not serves(
        unit, village_id=event.village_id, town_id=event.town_id, district_id=rules.district_id
    ):
        raise invalid(
            "unit_id",
            f"{unit.name} does not serve this event's place: choose a unit of its village or "
            "town, or a district department",
            f"{unit.name}不负责事件所在地，只能交办给事件所在村社、镇街的单位或区级部门",
        )
    return unit


def route(rules: Rules, *, category_code: str, level: int, place_ids: tuple[int, int]) -> Proposal:
    """The routing proposal for an event of this class and level in this village and town; a
    rule naming a unit that does not serve the place proposes nothing (the operator chooses)."""
    category = rules.categories[category_code]
    village_id, town_id = place_ids
    proposal = _propose_any(rules, category, level, village_id, town_id)
    unit = rules.units.by_id.get(proposal.unit_id) if proposal.unit_id is not None else None
    if unit is not None and not serves(
        unit, village_id=village_id, town_id=town_id, district_id=rules.district_id
    ):
        return Proposal(
            proposal.rule_id, None, f"{proposal.reason} names a unit that does not serve this place"
        )
    return proposal


def _propose_any(
    rules: Rules, category: CategoryRef, level: int, village_id: int, town_id: int
) -> Proposal:
    return propose(
        rules.rules,
        rules.units,
        category_code=category.code,
        major_code=category.major_code,
        platform=category.platform,
        level=level,
        village_id=village_id,
        town_id=town_id,
        district_id=rules.district_id or 0,
    )


def deadline_for(
    rules: Rules, *, level: int, category_code: str, urgent: bool, start: datetime
) -> tuple[int | None, Deadline | None]:
    """(policy id, deadline) of an event starting its clock at `start`."""
    ref = rules.policy_for(level=level, category_code=category_code, urgent=urgent)
    if ref is None:
        return None, None
    return ref.id, compute_deadline(start=start, policy=ref.policy, calendar=rules.calendar)


def create_event(
    *,
    db: Session,
    rules: Rules,
    place: Place,
    principal: Principal,
    data: EventCreate,
    now: datetime,
    photos: Sequence[PhotoInfo] = (),
    idempotency_key: str | None = None,
    duplicate_radius_m: float = 100.0,
    duplicate_days: float = 7.0,
    base_url: str = "",
) -> tuple[Event, list[Duplicate]]:
    """File one event: resolve, route, start its deadline, write it with its first trail row;
    an urgent one alerts the command room at once."""
    category, answers = check_filing(rules, principal, data)
    if data.source in STAFF_SOURCES and not _serves_town(principal, place, rules):
        raise forbidden(
            "the place lies outside your area", "事发地点不在您的辖区内，请由属地人员上报"
        )
    level = data.level or category.default_level
    urgent = bool(data.urgent)
    proposal = route(
        rules, category_code=category.code, level=level, place_ids=(place.village_id, place.town_id)
    )
    policy_id, deadline = deadline_for(
        rules, level=level, category_code=category.code, urgent=urgent, start=now
    )
    code = next_code(db, prefix=rules.town_prefixes.get(place.town_id, "000"), at=now)
    values: dict[str, Any] = {
        "code": code,
        "title": data.title or category.name_zh,
        "description": data.description,
        "category_code": category.code,
        "category_name": category.name_zh,
        "major_code": category.major_code,
        "major_name": category.major_name,
        "platform": category.platform,
        "level": level,
        "urgent": urgent,
        "source": data.source,
        "reporter_id": principal.user_id,
        "contact_phone": data.contact_phone,
        "lat": place.lat,
        "lng": place.lng,
        "address": data.address,
        "grid_id": place.grid_id,
        "village_id": place.village_id,
        "town_id": place.town_id,
        "status": "reported",
        "proposed_unit_id": proposal.unit_id,
        "routing_rule_id": proposal.rule_id,
        "routing_state": "proposed" if proposal.unit_id is not None else "unrouted",
        "escalation_rung": 0,
        "sla_policy_id": policy_id,
        "sla_started_at": now if deadline else None,
        "due_at": deadline.due_at if deadline else None,
        "yellow_at": deadline.yellow_at if deadline else None,
        "remind_at": deadline.remind_at if deadline else None,
        "reminded_at": None,
        "overdue_at": None,
        "escalate_at": None,
        "created_at": now,
        "updated_at": now,
        "paused_seconds": 0.0,
        "rework_count": 0,
        "return_count": 0,
        "version": 1,
        "idempotency_key": idempotency_key,
        "trail_seq": 0,
        "trail_hash": "",
    }
    statements = _statements(db)
    connection = db.connection()
    event_id = connection.execute(statements.insert_event, values).scalar_one()
    event = _transient_event(id=event_id, **values)
    attachment_ids = _insert_attachments(
        db, event_id=event_id, photos=photos, kind="before", by=principal.user_id, now=now
    )
    payload: dict[str, Any] = {
        "source": data.source,
        "category": category.code,
        "level": level,
        "urgent": urgent,
        "grid_id": place.grid_id,
        "lat": place.lat,
        "lng": place.lng,
        "routing": _routing_payload(proposal),
        "sla_policy_id": policy_id,
        "due_at": _iso(event.due_at),
        "photos": [p.sha256 for p in photos],
    }
    if answers:
        payload["answers"] = answers
    if attachment_ids:
        payload["attachment_ids"] = attachment_ids
    append_log(
        db, event, at=now, actor_id=principal.user_id, action="report", from_status=None,
        to_status="reported", unit_id=None, note="", payload=payload, update_event=False,
    )  # fmt: skip
    connection.execute(
        statements.trail_head,
        {"event_id": event_id, "seq": event.trail_seq, "digest": event.trail_hash},
    )
    queue_change(db, event_id=event_id, before=None, now=now)
    if urgent:
        alert_command_room(
            db, event, place=place, district_id=rules.district_id, reporter=principal, now=now,
            base_url=base_url,
        )  # fmt: skip
    duplicates = find_duplicates(
        db,
        event=event,
        radius_m=duplicate_radius_m,
        since=now - timedelta(days=duplicate_days),
    )
    return event, duplicates


def alert_command_room(
    db: Session,
    event: Event,
    *,
    place: Place,
    district_id: int | None,
    reporter: Principal,
    now: datetime,
    base_url: str,
) -> int:
    """Tell the operators of the event's town and of the district, by SMS and in the app, in the
    filing's own transaction: an urgent event (a one-click alarm, say) must not wait for a
    dispatch to be seen. Their pages also show it live from the command stream."""
    people = Directory(db)
    operators = people.org_people(place.town_id, "operator")
    if district_id is not None:
        operators += people.org_people(district_id, "operator")
    payload = {
        "event_id": event.id,
        "code": event.code,
        "category": event.category_name,
        "title": event.title,
        "place": f"{place.town_name}{place.village_name}{place.grid_name}"
        + (f" {event.address}" if event.address else ""),
        "reporter": reporter.name,
        "lat": f"{place.lat:.5f}",
        "lng": f"{place.lng:.5f}",
        "link": f"{base_url}/events/{event.id}",
    }
    drafts = drafts_for(
        operators, channels=("app", "sms"), template="urgent", payload=payload,
        key=f"urgent:{event.id}", event_id=event.id,
    )  # fmt: skip
    return enqueue(db, drafts, now=now)


def _transient_event(**values: Any) -> Event:
    """An Event object holding the row just inserted, outside the session: filled the way the ORM
    fills loaded rows (straight into its dict), which costs a fraction of `Event(**values)`."""
    event: Event = Event.__mapper__.class_manager.new_instance()
    event.__dict__.update(values)
    return event


def _serves_town(principal: Principal, place: Place, rules: Rules) -> bool:
    """Staff file events in their own area: inside their subtree, or in the town they work in."""
    path = grid_path(
        district_id=rules.district_id or 0,
        town_id=place.town_id,
        village_id=place.village_id,
        grid_id=place.grid_id,
    )
    town_path = path.split("/")[:3]
    return principal.covers(path) or principal.home_path.startswith("/".join(town_path) + "/")


def file_or_replay(
    *, db: Session, idempotency_key: str | None, principal: Principal, **kwargs: Any
) -> tuple[Event, list[Duplicate], bool]:
    """`create_event`, unless this reporter already filed with this key: then (that event, [], False)."""
    if idempotency_key:
        existing = find_existing(db, reporter_id=principal.user_id, key=idempotency_key)
        if existing is not None:
            return existing, [], False
    if not idempotency_key:
        event, duplicates = create_event(db=db, principal=principal, **kwargs)
        return event, duplicates, True
    try:
        # A savepoint only where a racing retry can collide on the key (PostgreSQL).
        with db.begin_nested():
            event, duplicates = create_event(
                db=db, principal=principal, idempotency_key=idempotency_key, **kwargs
            )
    except IntegrityError:
        # Two retries raced past the lookup (PostgreSQL): the other one won, return its event.
        existing = find_existing(db, reporter_id=principal.user_id, key=idempotency_key)
        if existing is None:
            raise
        return existing, [], False
    return event, duplicates, True


def _insert_attachments(
    db: Session, *, event_id: int, photos: Sequence[PhotoInfo], kind: str, by: int, now: datetime
) -> list[int]:
    statement, connection = _statements(db).insert_attachment, db.connection()
    return [
        connection.execute(
            statement,
            {
                "event_id": event_id,
                "kind": kind,
                "sha256": photo.sha256,
                "mime": photo.mime,
                "bytes": photo.bytes,
                "width": photo.width,
                "height": photo.height,
                "taken_at": photo.taken_at,
                "lat": photo.lat,
                "lng": photo.lng,
                "uploaded_by": by,
                "created_at": now,
            },
        ).scalar_one()
        for photo in photos
    ]


def find_duplicates(
    db: Session, *, event: Event, radius_m: float, since: datetime, limit: int = 10
) -> list[Duplicate]:
    """Open events of the same class within `radius_m` of `event`, filed since `since`."""
    if radius_m <= 0:
        return []
    south, north, west, east = bounding_box(event.lat, event.lng, radius_m)
    dlat = north - event.lat
    scale = max(math.cos(math.radians(event.lat)), 1e-6)
    rows = db.connection().execute(
        _statements(db).duplicates,
        {
            "category": event.category_code,
            "lat": event.lat,
            "lng": event.lng,
            "lng_scale": scale,
            "lat_low": south,
            "lat_high": north,
            "lng_low": west,
            "lng_high": east,
            "radius_squared": dlat * dlat,
            "since": since,
            "event_id": event.id,
            "limit": limit,
        },
    )
    found = [
        Duplicate(row.id, row.code, row.title, row.status, round(distance, 1), row.created_at)
        for row in rows
        if (distance := haversine_m(event.lat, event.lng, row.lat, row.lng)) <= radius_m
    ]
    found.sort(key=lambda d: (d.distance_m, d.id))
    return found


# --- the trail ----------------------------------------------------------------------------


def append_log(
    db: Session,
    event: Event,
    *,
    at: datetime,
    actor_id: int | None,
    action: str,
    from_status: str | None,
    to_status: str,
    unit_id: int | None,
    note: str,
    payload: dict[str, Any],
    update_event: bool = True,
) -> None:
    """Insert the next trail row of `event`, chained to its head, and move the head."""
    seq = event.trail_seq + 1
    digest = row_hash(
        prev_hash=event.trail_hash, event_id=event.id, seq=seq, at=at, actor_id=actor_id,
        action=action, from_status=from_status, to_status=to_status, unit_id=unit_id,
        note=note, payload=payload,
    )  # fmt: skip
    row = {
        "event_id": event.id,
        "seq": seq,
        "at": at,
        "actor_id": actor_id,
        "action": action,
        "from_status": from_status,
        "to_status": to_status,
        "unit_id": unit_id,
        "note": note,
        "payload": payload,
        "prev_hash": event.trail_hash,
        "hash": digest,
    }
    buffer = db.info.get(_TRAIL_BUFFER)
    if buffer is not None:
        buffer.append(row)
    else:
        db.connection().execute(_statements(db).insert_log, row)
    if update_event:
        event.trail_seq, event.trail_hash = seq, digest
    else:  # a transient object mirrors the row the caller updates itself
        event.__dict__["trail_seq"], event.__dict__["trail_hash"] = seq, digest


_TRAIL_BUFFER = "fengqiao_trail_buffer"


@contextmanager
def buffered_trail(db: Session) -> Iterator[None]:
    """Collect the trail rows appended inside the block and insert them in one statement at its
    end (a sweeper batch writes a thousand). Rows carry their own sequence numbers and hashes,
    so the order they are inserted in does not matter; an error inserts none of them."""
    if db.info.get(_TRAIL_BUFFER) is not None:
        yield  # already buffering: the outer block writes them
        return
    rows: list[dict[str, Any]] = []
    db.info[_TRAIL_BUFFER] = rows
    try:
        yield
    finally:
        db.info.pop(_TRAIL_BUFFER, None)
    if rows:
        db.connection().execute(_statements(db).insert_log, rows)


def record_step(
    db: Session,
    event: Event,
    *,
    now: datetime,
    action: str,
    payload: dict[str, Any],
    actor_id: int | None = None,
    unit_id: int | None = None,
    note: str = "",
) -> None:
    """A step that leaves the state as it is (a reminder, an order, a rung): on the trail, and a
    new version so a client holding the old one reloads before acting."""
    event.version += 1
    event.updated_at = now
    append_log(
        db, event, at=now, actor_id=actor_id, action=action, from_status=event.status,
        to_status=event.status, unit_id=unit_id, note=note, payload=payload,
    )  # fmt: skip


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


def _routing_payload(proposal: Proposal) -> dict[str, Any]:
    return {"rule_id": proposal.rule_id, "unit_id": proposal.unit_id, "reason": proposal.reason}


# --- reading ------------------------------------------------------------------------------


def get_event(*, db: Session, principal: Principal, event_id: int, lock: bool = False) -> Event:
    """An event the caller may read; 404 when it does not exist or lies outside their scope."""
    query = select(Event).where(Event.id == event_id)
    if lock:
        query = query.with_for_update()
    event = db.scalar(query)
    if event is None or not (
        may_read(
            principal,
            reporter_id=event.reporter_id,
            town_id=event.town_id,
            village_id=event.village_id,
            grid_id=event.grid_id,
            owner_unit_id=event.owner_unit_id,
        )
        or _is_owner_handler(principal, event)
        or (unit_scoped(principal) and _acted_on(db, principal, event.id))
    ):
        # Outside the caller's scope reads as "no such event": ids are not secrets, contents are.
        raise not_found("event", "事件")
    return event


def _acted_on(db: Session, principal: Principal, event_id: int) -> bool:
    """Whether the caller took a step on the event's trail (a handler keeps what they did)."""
    return (
        db.scalar(
            select(EventLog.id)
            .where(EventLog.event_id == event_id, EventLog.actor_id == principal.user_id)
            .limit(1)
        )
        is not None
    )


def _is_owner_handler(principal: Principal, event: Event) -> bool:
    return principal.unit_id is not None and principal.unit_id == event.owner_unit_id


def trail(db: Session, event_id: int) -> list[EventLog]:
    return list(
        db.scalars(select(EventLog).where(EventLog.event_id == event_id).order_by(EventLog.seq))
    )


def attachments(db: Session, event_id: int) -> list[Attachment]:
    return list(
        db.scalars(
            select(Attachment).where(Attachment.event_id == event_id).order_by(Attachment.id)
        )
    )


def light_of(event: Event, now: datetime) -> str | None:
    """The event's light now; frozen while suspended, and at closing once closed."""
    if event.due_at is None or event.yellow_at is None:
        return None
    at = now
    if event.status == "suspended" and event.suspended_at is not None:
        at = event.suspended_at
    elif event.status in workflow.FINAL:
        at = event.closed_at or event.updated_at
    deadline = Deadline(due_at=event.due_at, yellow_at=event.yellow_at, remind_at=event.remind_at)
    return light(deadline=deadline, now=at)


def facts(event: Event, rules: Rules) -> workflow.EventFacts:
    return workflow.EventFacts(
        status=event.status,
        grid_path=grid_path(
            district_id=rules.district_id or 0,
            town_id=event.town_id,
            village_id=event.village_id,
            grid_id=event.grid_id,
        ),
        source=event.source,
        reporter_id=event.reporter_id,
        owner_unit_id=event.owner_unit_id,
        pending_action=event.pending_action,
    )


def allowed_actions(event: Event, principal: Principal, rules: Rules) -> list[str]:
    """The actions the caller could take on the event now (what the UI offers)."""
    known = facts(event, rules)
    result = []
    for action in workflow.available(event.status):
        transition = workflow.BY_ACTION[action]
        if action in ("approve", "deny") and event.pending_action is None:
            continue
        if action == "self_handle" and event.level != 1:
            continue
        if action == "rate" and event.satisfaction is not None:
            continue
        if any(
            workflow.is_actor(kind, principal, known)
            for kind in workflow.actors_for(transition, known)
        ):
            result.append(action)
    return result


# --- the closed loop ----------------------------------------------------------------------


def transition(
    *,
    db: Session,
    rules: Rules,
    principal: Principal,
    event_id: int,
    data: TransitionIn,
    now: datetime,
    escalation: EscalationPolicy = DEFAULT_ESCALATION,
) -> Event:
    """Take one step of the workflow, or refuse with why (403 who, 409 state or version)."""
    step = workflow.BY_ACTION.get(data.action)
    if step is None:
        raise invalid(
            "action",
            f"unknown action; use one of {', '.join(workflow.ACTIONS)}",
            f"未知操作；可选：{'、'.join(workflow.ACTIONS)}",
        )
    event = get_event(db=db, principal=principal, event_id=event_id, lock=True)
    if event.status not in step.sources:
        raise conflict(
            "illegal-transition", "Action not allowed in this state", "当前状态不能执行此操作",
            f"cannot {data.action} an event that is {event.status}; "
            f"possible now: {', '.join(workflow.available(event.status)) or 'nothing'}",
            f"事件当前状态为「{STATUS_ZH.get(event.status, event.status)}」，不能执行「{step.name_zh}」",
        )  # fmt: skip
    known = facts(event, rules)
    kinds = workflow.actors_for(step, known)
    if not any(workflow.is_actor(kind, principal, known) for kind in kinds):
        raise forbidden(
            f"only {' or '.join(kinds)} may {data.action} this event",
            f"只有{'或'.join(workflow.ACTOR_ZH[k] for k in kinds)}可以执行「{step.name_zh}」",
        )
    if data.version != event.version:
        raise conflict(
            "stale-version", "The event changed meanwhile", "事件已被他人更新",
            f"you sent version {data.version}, the event is at version {event.version}; "
            "reload it and try again",
            f"您提交的版本为 {data.version}，事件当前版本为 {event.version}，请刷新后重试",
        )  # fmt: skip
    before = event.status
    counted = state_of(event)
    if data.action in ("escalate", "request_escalation"):
        unit_id, payload = _escalate(db, event, data, now, escalation)
    else:
        unit_id, payload = _HANDLERS[data.action](db, rules, principal, event, data, now)
    event.version += 1
    event.updated_at = now
    append_log(
        db, event, at=now, actor_id=principal.user_id, action=data.action, from_status=before,
        to_status=event.status, unit_id=unit_id, note=data.note, payload=payload,
    )  # fmt: skip
    if data.action == "return" and event.return_count == escalation.returns:
        # The Nth return: the event climbs a rung by itself (a step of its own on the trail).
        climbed = climb(db, event, now=now, reason="returns", policy=escalation)
        if climbed is not None:
            record_step(db, event, now=now, action="escalate", payload=climbed)
    if counted != state_of(event):
        queue_change(db, event_id=event.id, before=counted, now=now)
    db.flush()
    return event


def _escalate(
    db: Session, event: Event, data: TransitionIn, now: datetime, policy: EscalationPolicy
) -> tuple[int | None, dict[str, Any]]:
    _need_note(data, "why it needs a higher rung", "升级理由")
    reason = "unit_request" if data.action == "request_escalation" else "operator"
    payload = climb(db, event, now=now, reason=reason, policy=policy)
    if payload is None:
        raise conflict(
            "top-rung", "Already at the top rung", "已升级至最高层级",
            "the event is already with the district", "事件已升级至区级，不能再升级",
        )  # fmt: skip
    return event.owner_unit_id, payload


Handler = Any  # (db, rules, principal, event, data, now) -> (unit id, payload)


def _need_note(data: TransitionIn, what: str, what_zh: str) -> None:
    if not data.note:
        raise invalid("note", f"{data.action} needs a reason: {what}", f"请填写{what_zh}")


def _accept(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    payload: dict[str, Any] = {}
    if data.category is not None and data.category != event.category_code:
        category = rules.categories.get(data.category)
        if category is None or not category.active:
            raise invalid(
                "category", f"unknown or retired class {data.category!r}", "事件分类不存在或已停用"
            )
        payload["category"] = {"from": event.category_code, "to": category.code}
        event.category_code, event.category_name = category.code, category.name_zh
        event.major_code, event.major_name = category.major_code, category.major_name
        event.platform = category.platform
    if data.level is not None and data.level != event.level:
        payload["level"] = {"from": event.level, "to": data.level}
        event.level = data.level
    if data.urgent is not None and data.urgent != event.urgent:
        payload["urgent"] = {"from": event.urgent, "to": data.urgent}
        event.urgent = data.urgent
    if payload:
        # A reclassification never shortens the time already given: keep the later deadline.
        policy_id, deadline = deadline_for(
            rules, level=event.level, category_code=event.category_code, urgent=event.urgent,
            start=event.sla_started_at or event.created_at,
        )  # fmt: skip
        if deadline is not None and (event.due_at is None or deadline.due_at > event.due_at):
            _set_deadline(event, policy_id, deadline, event.sla_started_at or event.created_at)
            payload["due_at"] = _iso(event.due_at)
    _propose(rules, event, payload)
    event.status = "accepted"
    event.accepted_at = now
    return None, payload


def _propose(rules: Rules, event: Event, payload: dict[str, Any]) -> Proposal:
    proposal = route(
        rules, category_code=event.category_code, level=event.level,
        place_ids=(event.village_id, event.town_id),
    )  # fmt: skip
    event.proposed_unit_id = proposal.unit_id
    event.routing_rule_id = proposal.rule_id
    event.routing_state = "proposed" if proposal.unit_id is not None else "unrouted"
    payload["routing"] = _routing_payload(proposal)
    return proposal


def _set_deadline(event: Event, policy_id: int | None, deadline: Deadline, start: datetime) -> None:
    event.sla_policy_id = policy_id
    event.sla_started_at = start
    _move_deadline(event, deadline)


def _move_deadline(event: Event, deadline: Deadline) -> None:
    """A new deadline is owed its own reminder and, if it passes, its own overdue order."""
    event.due_at, event.yellow_at, event.remind_at = (
        deadline.due_at,
        deadline.yellow_at,
        deadline.remind_at,
    )
    event.reminded_at = event.overdue_at = event.escalate_at = None


def _reject(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    _need_note(data, "why it is not accepted", "不予受理的理由")
    event.status = "rejected"
    event.closed_at = now
    return None, {}


def _self_handle(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    if event.level != 1:
        raise conflict(
            "not-level-1", "Only level-1 events are self-handled", "只有一级事件可由网格员自行处置",
            f"this event is level {event.level}; it goes to the command room",
            f"该事件为{event.level}级，须由指挥室受理交办",
        )  # fmt: skip
    event.status = "self_handled"
    event.accepted_at = now
    return None, {}


def _close(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    photos = _own_attachments(db, event, data, required=True, kinds=("after", "evidence"))
    event.status = "closed"
    event.handled_at = event.closed_at = now
    if data.result is not None:
        event.result = data.result
    return None, {"attachment_ids": photos}


def _dispatch(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    payload: dict[str, Any] = {}
    proposal = _propose(rules, event, payload)
    unit_id = data.unit_id if data.unit_id is not None else proposal.unit_id
    if unit_id is None:
        raise conflict(
            "unrouted", "No unit to dispatch to", "未匹配到责任单位",
            f"no routing rule gives a unit ({proposal.reason}); choose a unit_id and give a reason",
            "没有流转规则匹配此事件，请指定责任单位并说明理由",
        )  # fmt: skip
    check_serves(rules, event, unit_id)
    if unit_id != proposal.unit_id:
        _need_note(data, "why another unit than the proposed one", "改派其他单位的理由")
        event.routing_state = "override"
        payload["override"] = {"proposed": proposal.unit_id, "chosen": unit_id}
    redispatch = event.dispatched_at is not None
    event.owner_unit_id = unit_id
    event.status = "dispatched"
    event.dispatched_at = now
    if redispatch:
        # After a return the unit that takes it over gets the full time again.
        policy_id, deadline = deadline_for(
            rules, level=event.level, category_code=event.category_code, urgent=event.urgent,
            start=now,
        )  # fmt: skip
        if deadline is not None:
            _set_deadline(event, policy_id, deadline, now)
            payload["due_at"] = _iso(event.due_at)
            payload["redispatch"] = True
    return unit_id, payload


def _sign(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    event.status = "signed"
    event.signed_at = now
    return event.owner_unit_id, {}


def _return(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    _need_note(data, "why the event is not this unit's", "回退理由（为何不属本单位）")
    unit_id = event.owner_unit_id
    event.return_count += 1
    event.owner_unit_id = None
    event.status = "accepted"
    return unit_id, {"return_count": event.return_count}


def _feedback(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    if not data.result:
        raise invalid("result", "feedback needs the result: what was done", "请填写处置结果")
    photos = _own_attachments(db, event, data, required=True, kinds=("evidence", "after"))
    event.result = data.result
    event.status = "handled"
    event.handled_at = now
    return event.owner_unit_id, {"attachment_ids": photos}


def _verify(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    if data.ok is None:
        raise invalid("ok", "verify needs ok: true (closes) or false (rework)", "请选择核查结果")
    if data.ok:
        event.status = "closed"
        event.closed_at = now
        return event.owner_unit_id, {"ok": True}
    _need_note(data, "what is still wrong", "核查不通过的原因")
    event.rework_count += 1
    event.status = "signed"
    return event.owner_unit_id, {"ok": False, "rework_count": event.rework_count}


def _request(kind: str) -> Handler:
    def handle(
        db: Session,
        rules: Rules,
        principal: Principal,
        event: Event,
        data: TransitionIn,
        now: datetime,
    ) -> tuple[int | None, dict[str, Any]]:
        if event.pending_action is not None:
            raise conflict(
                "request-pending", "A request is already pending", "已有待审批的申请",
                f"a {event.pending_action} request waits for approval",
                "已有申请等待审批，请先处理",
            )  # fmt: skip
        _need_note(data, f"why the event should be {kind}ed", "申请理由")
        event.pending_action, event.pending_by, event.pending_note = (
            kind,
            principal.user_id,
            data.note,
        )
        return event.owner_unit_id, {"request": kind}

    return handle


def _approve(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    kind = _pending(event)
    if kind == "suspend":
        if event.status not in workflow.SUSPENDABLE:
            raise conflict(
                "illegal-transition", "Cannot suspend in this state", "当前状态不能挂起",
                f"the event is {event.status} now", f"事件当前状态为「{STATUS_ZH.get(event.status)}」",
            )  # fmt: skip
        event.suspended_from = event.status
        event.status = "suspended"
        event.suspended_at = now
    else:
        event.status = "voided"
        event.closed_at = now
    event.pending_action = event.pending_by = event.pending_note = None
    return event.owner_unit_id, {"approved": kind}


def _deny(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    kind = _pending(event)
    event.pending_action = event.pending_by = event.pending_note = None
    return event.owner_unit_id, {"denied": kind}


def _pending(event: Event) -> str:
    if event.pending_action is None:
        raise conflict(
            "no-request", "Nothing to approve", "没有待审批的申请",
            "no suspend or void request is pending", "当前没有挂起或作废申请",
        )  # fmt: skip
    return event.pending_action


def _resume(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    assert event.suspended_at is not None and event.suspended_from is not None
    paused_from = event.suspended_at
    event.paused_seconds += (now - paused_from).total_seconds()
    payload: dict[str, Any] = {"paused_seconds": (now - paused_from).total_seconds()}
    ref = next((p for p in rules.policies if p.id == event.sla_policy_id), None)
    if ref is not None and event.due_at is not None and event.yellow_at is not None:
        moved = extend_for_pause(
            deadline=Deadline(event.due_at, event.yellow_at, event.remind_at),
            paused_from=paused_from, paused_to=now, policy=ref.policy, calendar=rules.calendar,
        )  # fmt: skip
        _move_deadline(event, moved)
        payload["due_at"] = _iso(event.due_at)
    event.status = event.suspended_from
    event.suspended_from = event.suspended_at = None
    return event.owner_unit_id, payload


def _merge(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    if data.into is None:
        raise invalid("into", "merge needs the id of the event to merge into", "请指定合并到的事件")
    if data.into == event.id:
        raise invalid("into", "an event cannot be merged into itself", "不能合并到自身")
    target = get_event(db=db, principal=principal, event_id=data.into)
    if target.status not in workflow.OPEN or target.duplicate_of_id is not None:
        raise conflict(
            "merge-target-closed", "Merge target is not open", "合并目标事件已办结",
            f"event {target.code} is {target.status}", f"事件 {target.code} 已不在办理中",
        )  # fmt: skip
    if target.category_code != event.category_code:
        raise invalid("into", "merge only events of the same class", "只能合并同一分类的事件")
    event.duplicate_of_id = target.id
    event.status = "merged"
    event.closed_at = now
    return None, {"into": target.id, "into_code": target.code}


def _rate(
    db: Session, rules: Rules, principal: Principal, event: Event, data: TransitionIn, now: datetime
) -> tuple[int | None, dict[str, Any]]:
    if data.satisfaction is None:
        raise invalid("satisfaction", "rate needs satisfaction 1-5", "请选择满意度（1-5）")
    if event.satisfaction is not None:
        raise conflict(
            "already-rated", "Already rated", "已评价", "this event was rated before", "该事件已评价过",
        )  # fmt: skip
    event.satisfaction = data.satisfaction
    return None, {"satisfaction": data.satisfaction}


def _own_attachments(
    db: Session, event: Event, data: TransitionIn, *, required: bool, kinds: tuple[str, ...]
) -> list[int]:
    """The attachments named by the step; they must be this event's photos of a fitting kind."""
    ids = sorted(set(data.attachment_ids))
    rows = (
        db.execute(
            select(Attachment.id, Attachment.kind).where(
                and_(Attachment.id.in_(ids), Attachment.event_id == event.id)
            )
        ).all()
        if ids
        else []
    )
    if len(rows) != len(ids):
        raise invalid("attachment_ids", "not photos of this event", "附件不属于该事件")
    if required and not any(kind in kinds for _id, kind in rows):
        raise Problem(
            422, "evidence-required", "Evidence photo required", "须上传处置照片",
            f"{data.action} needs at least one photo of kind {' or '.join(kinds)} "
            "(upload it to /events/{id}/attachments first)",
            "请先上传处置后照片，再提交此操作",
            [FieldError("attachment_ids", "an evidence photo is required", "须附处置照片")],
        )  # fmt: skip
    return ids


def add_attachments(
    *,
    db: Session,
    principal: Principal,
    event: Event,
    photos: Sequence[PhotoInfo],
    kind: str,
    now: datetime,
) -> list[Attachment]:
    """Add photos to an event the caller may act on (staff of its area, its reporter, its unit)."""
    if event.status in workflow.FINAL:
        raise conflict(
            "event-final", "The event is finished", "事件已结束",
            f"the event is {event.status}; no more photos", "事件已结束，不能再上传照片",
        )  # fmt: skip
    if not (
        principal.user_id == event.reporter_id
        or _is_owner_handler(principal, event)
        or (is_staff(principal) and not principal.roles <= {"leader"})
    ):
        raise forbidden("you may not add photos to this event", "您不能为该事件上传照片")
    ids = _insert_attachments(
        db, event_id=event.id, photos=photos, kind=kind, by=principal.user_id, now=now
    )
    append_log(
        db, event, at=now, actor_id=principal.user_id, action="attach", from_status=event.status,
        to_status=event.status, unit_id=None, note="",
        payload={"kind": kind, "attachment_ids": ids, "photos": [p.sha256 for p in photos]},
    )  # fmt: skip
    event.updated_at = now
    db.flush()
    return list(
        db.scalars(select(Attachment).where(Attachment.id.in_(ids)).order_by(Attachment.id))
    )


def recover_event(
    *, db: Session, event_id: int, now: datetime, note: str, payload: dict[str, Any]
) -> Event | None:
    """The system's `recover` step: close an open IoT event whose device reported recovery
    (the caller checked that the rule allows it); None when the event is not IoT or its state
    has no `recover` edge (suspended, or finished meanwhile)."""
    step = workflow.BY_ACTION["recover"]
    event = db.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # its trail may have moved by Core writes
    )
    if event is None or event.source != "iot" or event.status not in step.sources:
        return None
    before, counted = event.status, state_of(event)
    event.status = "closed"
    event.handled_at = event.handled_at or now
    event.closed_at = now
    event.result = event.result or note
    event.pending_action = event.pending_by = event.pending_note = None
    event.version += 1
    event.updated_at = now
    append_log(
        db, event, at=now, actor_id=None, action="recover", from_status=before,
        to_status="closed", unit_id=event.owner_unit_id, note=note, payload=payload,
    )  # fmt: skip
    if counted != state_of(event):
        queue_change(db, event_id=event.id, before=counted, now=now)
    db.flush()
    return event


_HANDLERS: dict[str, Handler] = {
    "accept": _accept,
    "reject": _reject,
    "self_handle": _self_handle,
    "close": _close,
    "dispatch": _dispatch,
    "sign": _sign,
    "return": _return,
    "feedback": _feedback,
    "verify": _verify,
    "request_suspend": _request("suspend"),
    "request_void": _request("void"),
    "approve": _approve,
    "deny": _deny,
    "resume": _resume,
    "merge": _merge,
    "rate": _rate,
}
assert set(_HANDLERS) | {"escalate", "request_escalation", "recover"} == set(workflow.ACTIONS)

STATUS_ZH = {
    "reported": "已上报", "accepted": "已受理", "dispatched": "已交办", "signed": "已签收",
    "handled": "已反馈", "closed": "已结案", "rejected": "不予受理", "self_handled": "自行处置",
    "suspended": "已挂起", "voided": "已作废", "merged": "已合并",
}  # fmt: skip

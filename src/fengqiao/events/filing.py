"""Filing an event from any source: the checks, the event code, the routing proposal and the
deadline, the write with its first trail row, and the open events it may duplicate.

Filing is the hot path: its writes are Core statements built once per dialect. The caller owns
the transaction and commits.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from fengqiao.auth.sms import home_after_report
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import forbidden, invalid
from fengqiao.events import changes
from fengqiao.events.models import Attachment, Event, EventSequence, is_open
from fengqiao.events.photos import PhotoInfo
from fengqiao.events.schemas import EventCreate
from fengqiao.events.sources import SOURCES
from fengqiao.events.trail import append_log
from fengqiao.geo.distance import bounding_box, haversine_m
from fengqiao.geo.service import Place
from fengqiao.outbox.service import Directory, drafts_for, enqueue
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import Deadline, compute_deadline
from fengqiao.taxonomy.public import hidden_codes
from fengqiao.taxonomy.questions import Answer, check_answers
from fengqiao.taxonomy.routing import Proposal, UnitRef, propose
from fengqiao.taxonomy.snapshot import CategoryRef, Rules, load_rules


@dataclass(frozen=True)
class Duplicate:
    """An open event of the same class near a new one."""

    id: int
    code: str
    title: str
    status: str
    distance_m: float
    created_at: datetime


def check_source(principal: Principal, data: EventCreate) -> None:
    """Refuse a source the caller may not file from, and fields that source may not set."""
    source = SOURCES[data.source]
    if principal.roles.isdisjoint(source.roles):
        raise forbidden(
            f"your roles cannot file events from source {data.source!r}",
            f"您的角色不能以「{source.name_zh}」来源上报事件",
        )
    if not source.staff:
        for name in ("level", "urgent"):
            if getattr(data, name) is not None:
                raise invalid(
                    name,
                    f"a {data.source} report cannot set the {name}; the operator sets it",
                    "该来源的上报不能自行设定等级或紧急程度，由指挥室受理时设定",
                )


RESIDENT = frozenset({"resident"})


def check_filing(
    rules: Rules,
    principal: Principal,
    data: EventCreate,
    *,
    hidden: Collection[str] = (),
    town_id: int | None = None,
) -> tuple[CategoryRef, dict[str, Answer]]:
    """The checks that need no write: source, fields, class and the answers to its extra
    questions (run before photos are stored); the class and the answers as stored. A resident
    source cannot file in a class `hidden` names (`open311_hidden_majors`, the rule of
    taxonomy/public.py): refused as an unknown one, so a hidden class cannot be told apart. With
    `town_id`, a class the town's district turned off is refused too (`ClassOverride`)."""
    check_source(principal, data)
    category = rules.categories.get(data.category)
    public = not SOURCES[data.source].staff and not SOURCES[data.source].machine
    if public and hidden and data.category in hidden_codes(rules, hidden):
        category = None
    if category is None or not category.active:
        raise invalid(
            "category",
            f"unknown or retired class {data.category!r}",
            f"事件分类 {data.category} 不存在或已停用",
        )
    if rules.category_in(category.code, town_id=town_id) is None:
        raise invalid(
            "category",
            f"class {category.code} is turned off in this district",
            f"事件分类“{category.name_zh}”在本区县已停用",
        )
    answers = check_answers(
        rules.intakes.get(category.code), data.answers, class_name=category.name_zh,
        enforce_required=not SOURCES[data.source].machine,
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
        events = cast(Table, Event.__table__)
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
        unit,
        village_id=event.village_id,
        town_id=event.town_id,
        district_id=rules.district_of(event.town_id),
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
        unit, village_id=village_id, town_id=town_id, district_id=rules.district_of(town_id)
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
        district_id=rules.district_of(town_id) or 0,
        district_rules=rules.district_rules,
    )


def deadline_for(
    rules: Rules,
    *,
    level: int,
    category_code: str,
    urgent: bool,
    start: datetime,
    town_id: int | None = None,
) -> tuple[int | None, Deadline | None]:
    """(policy id, deadline) of an event of `town_id` starting its clock at `start` (its
    district's own limits beat the shared ones)."""
    district = rules.district_of(town_id) if town_id is not None else None
    ref = rules.policy_for(
        level=level, category_code=category_code, urgent=urgent, district_id=district
    )
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
    hidden: Collection[str] = (),
) -> tuple[Event, list[Duplicate]]:
    """File one event: resolve, route, start its deadline, write it with its first trail row;
    an urgent one alerts the command room at once."""
    if place.town_id not in rules.town_paths:
        # A town imported after this process's snapshot was read (the grid index already knows
        # its grids): read the rules again in this transaction, so its path, district and
        # units are the stored ones, not a guess.
        rules = load_rules(db)
    category, answers = check_filing(rules, principal, data, hidden=hidden, town_id=place.town_id)
    if SOURCES[data.source].staff and not _serves_town(principal, place, rules):
        raise forbidden(
            "the place lies outside your area", "事发地点不在您的辖区内，请由属地人员上报"
        )
    level = data.level or category.default_level
    urgent = bool(data.urgent)
    proposal = route(
        rules, category_code=category.code, level=level, place_ids=(place.village_id, place.town_id)
    )
    policy_id, deadline = deadline_for(
        rules, level=level, category_code=category.code, urgent=urgent, start=now,
        town_id=place.town_id,
    )  # fmt: skip
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
        "notify_sms": data.notify_sms,
        "lat": place.lat,
        "lng": place.lng,
        "address": data.address,
        "grid_id": place.grid_id,
        "village_id": place.village_id,
        "town_id": place.town_id,
        "district_id": rules.town_districts.get(place.town_id),
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
    attachment_ids = insert_attachments(
        db, event_id=event_id, photos=photos, kind="report", by=principal.user_id, now=now
    )
    payload: dict[str, Any] = {
        "source": data.source,
        "category": category.code,
        "level": level,
        "urgent": urgent,
        "grid_id": place.grid_id,
        "lat": place.lat,
        "lng": place.lng,
        "routing": routing_payload(proposal),
        "sla_policy_id": policy_id,
        "due_at": iso(event.due_at),
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
    # Through the module, so one patch of `changes.queue_change` reaches every caller (bench).
    changes.queue_change(db, event_id=event_id, before=None, now=now)
    if principal.roles == RESIDENT and principal.home_org_id not in rules.town_districts.values():
        # A resident signed in without a location lives at a province's root: their first
        # report's district becomes their home (auth/sms.py).
        home_after_report(db=db, user_id=principal.user_id, district_id=values["district_id"])
    if urgent:
        alert_command_room(
            db,
            event,
            place=place,
            district_id=rules.district_of(place.town_id),
            reporter=principal,
            now=now,
        )
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
        # A path: the sender puts the public address in front when it sends (notify.templates).
        "path": f"/events/{event.id}",
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
    path = rules.grid_path(
        town_id=place.town_id, village_id=place.village_id, grid_id=place.grid_id
    )
    return principal.covers(path) or principal.home_path.startswith(rules.town_path(place.town_id))


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


def insert_attachments(
    db: Session, *, event_id: int, photos: Sequence[PhotoInfo], kind: str, by: int, now: datetime
) -> list[int]:
    """Insert the photos' attachment rows (with how each was captured); their ids, in order."""
    statement, connection = _statements(db).insert_attachment, db.connection()
    ids = []
    for photo in photos:
        device = photo.device
        values = {
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
            "origin": photo.origin,
            "device_lat": device.lat if device else None,
            "device_lng": device.lng if device else None,
            "device_accuracy": device.accuracy_m if device else None,
            "device_at": device.at if device else None,
            "uploaded_by": by,
            "created_at": now,
        }
        ids.append(connection.execute(statement, values).scalar_one())
    return ids


def find_duplicates(
    db: Session, *, event: Event, radius_m: float, since: datetime, limit: int = 10
) -> list[Duplicate]:
    """Open events of the same class within `radius_m` of `event`, filed since `since`."""
    return find_near(
        db, category_code=event.category_code, lat=event.lat, lng=event.lng, radius_m=radius_m,
        since=since, limit=limit, exclude_id=event.id,
    )  # fmt: skip


def find_near(
    db: Session,
    *,
    category_code: str,
    lat: float,
    lng: float,
    radius_m: float,
    since: datetime,
    limit: int = 10,
    exclude_id: int = 0,
) -> list[Duplicate]:
    """Open events of a class within `radius_m` of a point, filed since `since`, nearest first
    (a new event's likely duplicates; the reports a resident is offered before filing)."""
    if radius_m <= 0:
        return []
    south, north, west, east = bounding_box(lat, lng, radius_m)
    dlat = north - lat
    scale = max(math.cos(math.radians(lat)), 1e-6)
    rows = db.connection().execute(
        _statements(db).duplicates,
        {
            "category": category_code,
            "lat": lat,
            "lng": lng,
            "lng_scale": scale,
            "lat_low": south,
            "lat_high": north,
            "lng_low": west,
            "lng_high": east,
            "radius_squared": dlat * dlat,
            "since": since,
            "event_id": exclude_id,
            "limit": limit,
        },
    )
    found = [
        Duplicate(row.id, row.code, row.title, row.status, round(distance, 1), row.created_at)
        for row in rows
        if (distance := haversine_m(lat, lng, row.lat, row.lng)) <= radius_m
    ]
    found.sort(key=lambda d: (d.distance_m, d.id))
    return found


def iso(at: datetime | None) -> str | None:
    """A time as the trail's payloads write it."""
    return at.isoformat() if at else None


def routing_payload(proposal: Proposal) -> dict[str, Any]:
    """A routing proposal as the trail's payloads write it."""
    return {"rule_id": proposal.rule_id, "unit_id": proposal.unit_id, "reason": proposal.reason}

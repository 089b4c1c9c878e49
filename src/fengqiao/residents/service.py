"""Residents' domain functions: send a sign-in code through the outbox, the classes they may
report in, the open reports near a point and 我也遇到. They flush, never commit."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.auth import sms
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import Problem, invalid, not_found
from fengqiao.events.filing import find_near
from fengqiao.events.models import Event, EventMeToo, is_open
from fengqiao.events.public import PUBLIC_STATUS_KEYS_ZH, PUBLIC_STATUS_OF_STATE
from fengqiao.outbox.service import Person, drafts_for, enqueue
from fengqiao.residents.schemas import NearbyReport, ReportClass, ReportClasses, ReportClassMajor
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import Rules

SMS_TEMPLATE = "sms_code"  # notify/templates.json


def send_code(*, db: Session, phone: str, key: str, now: datetime, minutes: int) -> int:
    """Make a code for `phone` and queue it by SMS in the same transaction; the code row's id.
    The message goes to the resident account of the number when there is one (so staff see it
    in the outbox under that account), else to the bare number."""
    code_id, code = sms.issue_code(db=db, phone=phone, key=key, now=now, minutes=minutes)
    owner = sms.find_resident(db=db, phone=phone)
    person = Person(
        user_id=owner.id if owner else None, name=owner.name if owner else "", phone=phone
    )
    drafts = drafts_for(
        [person], channels=("sms",), template=SMS_TEMPLATE,
        payload={"code": code, "minutes": minutes}, key=f"sms_code:{code_id}",
    )  # fmt: skip
    enqueue(db, drafts, now=now)
    return code_id


def report_classes(*, rules: Rules, hidden: frozenset[str]) -> ReportClasses:
    """Active minor classes a resident may report in, by major class, in code order."""
    categories = [
        ReportClass(
            code=c.code, name_zh=c.name_zh, major_code=c.major_code, major_name=c.major_name
        )
        for code, c in sorted(rules.categories.items())
        if c.active and code not in hidden
    ]
    majors = {c.major_code: c.major_name for c in categories}
    return ReportClasses(
        majors=[ReportClassMajor(code=k, name_zh=v) for k, v in sorted(majors.items())],
        categories=categories,
    )


def unknown_class(code: str) -> Problem:
    """An unknown, retired or hidden class: the same words for each, as Open311 says them."""
    return invalid(
        "category", f"unknown or retired class {code!r}", f"事件分类 {code} 不存在或已停用"
    )


def me_too_counts(db: Session, event_ids: Collection[int]) -> dict[int, int]:
    """How many residents said 我也遇到 on each event."""
    if not event_ids:
        return {}
    rows = db.execute(
        select(EventMeToo.event_id, func.count())
        .where(EventMeToo.event_id.in_(list(event_ids)))
        .group_by(EventMeToo.event_id)
    )
    return {event_id: count for event_id, count in rows}


def nearby(
    *,
    db: Session,
    principal: Principal | None,
    category_code: str,
    lat: float,
    lng: float,
    radius_m: float,
    since: datetime,
    limit: int = 10,
) -> list[NearbyReport]:
    """Open reports of a class near a point (events/filing.py's duplicate search), in their
    public words: code, class, public status, distance to 10 m, the day, the 我也遇到 count."""
    found = find_near(
        db, category_code=category_code, lat=lat, lng=lng, radius_m=radius_m, since=since,
        limit=limit,
    )  # fmt: skip
    if not found:
        return []
    ids = [d.id for d in found]
    counts = me_too_counts(db, ids)
    names = dict(db.execute(select(Event.id, Event.category_name).where(Event.id.in_(ids))).all())
    mine: set[int] = set()
    if principal is not None:
        mine = set(
            db.scalars(
                select(EventMeToo.event_id).where(
                    EventMeToo.event_id.in_(ids), EventMeToo.user_id == principal.user_id
                )
            )
        ) | set(
            db.scalars(
                select(Event.id).where(Event.id.in_(ids), Event.reporter_id == principal.user_id)
            )
        )
    items = []
    for d in found:
        status = PUBLIC_STATUS_OF_STATE.get(d.status, "in_progress")
        items.append(
            NearbyReport(
                code=d.code,
                category=category_code,
                category_name=names.get(d.id, ""),
                status=status,
                status_zh=PUBLIC_STATUS_KEYS_ZH[status],
                distance_m=int(round(d.distance_m, -1)),
                reported_on=d.created_at.astimezone(LOCAL_TZ).date(),
                me_too=counts.get(d.id, 0),
                mine=d.id in mine,
            )
        )
    return items


def _insert(db: Session) -> postgresql.Insert | sqlite.Insert:
    dialect = db.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(EventMeToo)


def me_too(
    *, db: Session, principal: Principal, code: str, hidden: frozenset[str], now: datetime
) -> tuple[int, bool]:
    """我也遇到 on the open report `code`: (the event's count, whether this call added one).
    Once per resident (a second press changes nothing); a report of a hidden class is not
    found, a closed one or the resident's own is refused."""
    principal.require_role("resident")
    event = db.scalar(select(Event).where(Event.code == code))
    if event is None or event.category_code in hidden:
        raise not_found("report", "上报")
    if event.reporter_id == principal.user_id:
        raise Problem(
            409, "me-too-own-report", "Your own report", "这是您自己的上报",
            "this is your own report; it is counted already", "这是您自己上报的问题，无需再点「我也遇到」",
        )  # fmt: skip
    if not db.scalar(
        select(func.count()).select_from(Event).where(Event.id == event.id, is_open())
    ):
        raise Problem(
            409, "me-too-closed", "Report closed", "该上报已办结",
            "the report is closed; file a new one if the problem is back",
            "该上报已办结或已关闭；如问题仍然存在，请重新上报",
        )  # fmt: skip
    added = (
        db.execute(
            _insert(db)
            .values(event_id=event.id, user_id=principal.user_id, created_at=now)
            .on_conflict_do_nothing(index_elements=["event_id", "user_id"])
            .returning(EventMeToo.event_id)
        ).first()
        is not None
    )
    db.flush()
    return me_too_counts(db, [event.id]).get(event.id, 0), added


def window(now: datetime, days: float) -> datetime:
    """The start of the nearby search's window."""
    return now - timedelta(days=days)

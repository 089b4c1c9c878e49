"""The escalation ladder (DESIGN.md section 7) and what every deadline message says.

unit (rung 0) → the platform's coordination group at the town (1) → the town's leaders (2) →
the district: the petition bureau and the command center, with the district's leaders (3) → in
a district that sets it (FENGQIAO_ESCALATION_CITY_DISTRICTS) and sits under a city: the city's
command center and leaders (4).
Triggers: a unit's request, an operator's decision, overdue spans (`escalate_at`, set when an
event runs overdue and moved up a rung at a time by the sweeper), or the Nth return.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased, object_session

from fengqiao.clock import LOCAL_TZ
from fengqiao.config import Settings
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit, Unit, area_word, level_words
from fengqiao.outbox.service import Directory, Person

TOP_RUNG = 3
CITY_RUNG = 4
RUNG_ZH = (
    "责任单位",
    "镇街平台协调组",
    "镇街领导",
    "区县级（信访局/综合信息指挥中心）",  # named by the district's own level: `rung_name`
    "市级（市综合信息指挥中心/市领导）",
)
DISTRICT_UNIT_TYPES = ("petition_bureau", "command_center")


def rung_name(rung: int, district_name: str | None = None) -> str:
    """A rung's words; the district's rung by the district's real level when its name is known
    (柯桥区: 区级（区信访局/…）, 新昌县: 县级（县信访局/…）, 诸暨市, a county-level city: 市级)."""
    if rung != TOP_RUNG or not district_name:
        return RUNG_ZH[rung]
    word = {"县级市": "市"}.get(
        area_word("district", district_name), area_word("district", district_name)
    )
    level = level_words("district", district_name)
    return f"{level}（{word}信访局/{word}综合信息指挥中心）"


def event_rung_name(event: Event) -> str:
    """The event's rung in words, the district's by its level (read in the event's session)."""
    db = object_session(event)
    if event.escalation_rung != TOP_RUNG or db is None:
        return RUNG_ZH[event.escalation_rung]
    return rung_name(event.escalation_rung, district_name(db, event))


def district_name(db: Session, event: Event) -> str | None:
    """The name of the event's district (one read by primary key), for `rung_name`."""
    if event.district_id is None:
        return None
    return db.scalar(select(OrgUnit.name).where(OrgUnit.id == event.district_id))


REASON_ZH = {
    "overdue": "超期未办结",
    "returns": "多次回退",
    "unit_request": "责任单位申请升级",
    "operator": "指挥室决定升级",
}


@dataclass(frozen=True)
class EscalationPolicy:
    overdue_hours: tuple[float, ...] = (24.0, 72.0, 168.0)
    returns: int = 2
    reply_hours: float = 24.0
    # Codes of the districts whose ladder climbs on to their city, and the hours overdue after
    # which it does so by itself.
    city_districts: frozenset[str] = frozenset()
    city_hours: float = 336.0

    @classmethod
    def from_settings(cls, settings: Settings) -> EscalationPolicy:
        return cls(
            overdue_hours=tuple(settings.escalation_overdue_hours),
            returns=settings.escalation_returns,
            reply_hours=settings.supervision_reply_hours,
            city_districts=frozenset(settings.escalation_city_districts),
            city_hours=settings.escalation_city_hours,
        )

    def top_rung(self, event: Event) -> int:
        """The ladder's last rung for this event: the city's where its district sets it."""
        session = object_session(event)
        if not self.city_districts or session is None:
            return TOP_RUNG
        district = aliased(OrgUnit)
        row = session.execute(
            select(district.code, district.parent_id)
            .join(OrgUnit, OrgUnit.parent_id == district.id)
            .where(OrgUnit.id == event.town_id)
        ).first()
        if row is None or row.parent_id is None or row.code not in self.city_districts:
            return TOP_RUNG
        return CITY_RUNG

    def escalate_at(self, event: Event) -> datetime | None:
        """When an overdue event reaches its next rung by itself (None: no further rung)."""
        hours = self.overdue_hours[:TOP_RUNG]
        top = TOP_RUNG
        if len(hours) == TOP_RUNG and event.escalation_rung >= TOP_RUNG:
            top = self.top_rung(event)
            hours = (*hours, self.city_hours)
        if event.due_at is None or event.escalation_rung >= min(top, len(hours)):
            return None
        return event.due_at + timedelta(hours=hours[event.escalation_rung])


def local_text(at: datetime | None) -> str:
    return at.astimezone(LOCAL_TZ).strftime("%Y-%m-%d %H:%M") if at else ""


def message_payload(people: Directory, event: Event) -> dict[str, Any]:
    """The fields every deadline template may use, about one event."""
    names = people.org_names(event.town_id, event.village_id)
    unit = people.unit(event.owner_unit_id) if event.owner_unit_id else None
    return {
        "event_id": event.id,
        "code": event.code,
        "category": event.category_name,
        "place": f"{names.get(event.town_id, '')}{names.get(event.village_id, '')}"
        + (f" {event.address}" if event.address else ""),
        "unit": unit.name if unit else "指挥室",
        "due": local_text(event.due_at),
        # A path: the sender puts the configured public address in front when it sends, so a
        # stored message never pins an address (notify/templates.py `absolute`).
        "path": f"/events/{event.id}",
    }


def rung_people(people: Directory, event: Event, rung: int) -> list[Person]:
    """Who is told when the event reaches `rung`."""
    db = people.db
    if rung <= 0:
        return people.unit_handlers(event.owner_unit_id) if event.owner_unit_id else []
    with db.no_autoflush:
        if rung == 1:
            group = db.scalar(
                select(Unit.id)
                .where(
                    Unit.org_unit_id == event.town_id,
                    Unit.category == "coordination_group",
                    Unit.active.is_(True),
                )
                .order_by((Unit.platform == event.platform).desc(), Unit.id)
                .limit(1)
            )
            told = people.unit_handlers(group) if group is not None else []
            return told or people.org_people(event.town_id, "operator")
        if rung == 2:
            return people.org_people(event.town_id, "leader")
        district_id = db.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == event.town_id))
        if rung >= CITY_RUNG:  # the city above the district: its command center and leaders
            district_id = db.scalar(select(OrgUnit.parent_id).where(OrgUnit.id == district_id))
        units = db.scalars(
            select(Unit.id).where(
                Unit.org_unit_id == district_id,
                Unit.unit_type.in_(DISTRICT_UNIT_TYPES),
                Unit.active.is_(True),
            )
        ).all()
    told = [p for u in units for p in people.unit_handlers(u)]
    return told + (people.org_people(district_id, "leader") if district_id else [])


def climb(
    db: Session,
    event: Event,
    *,
    now: datetime,
    reason: str,
    policy: EscalationPolicy,
) -> dict[str, Any] | None:
    """Move the event one rung up; the payload for the trail row, or None when it is already at
    the top. The new rung's people are told by the step that climbed (events/notices.py); `db`
    is the transaction it happens in."""
    if event.escalation_rung >= policy.top_rung(event):
        return None
    event.escalation_rung += 1
    rung = event.escalation_rung
    if event.overdue_at is not None:
        event.escalate_at = policy.escalate_at(event)
    return {
        "rung": rung,
        "rung_name": event_rung_name(event),
        "reason": reason,
        "escalate_at": event.escalate_at.isoformat() if event.escalate_at else None,
    }

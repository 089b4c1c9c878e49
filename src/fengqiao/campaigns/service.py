"""The campaigns' domain functions: define, change and end a campaign in the caller's scope, tag
events to it by hand, record what a closing achieved. They flush, never commit. The contract
reads for the other parts (`town_progress`, `gaps`) live in `progress` and are re-exported."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.campaigns.models import (
    COUNT_UNITS,
    Campaign,
    CampaignEvent,
    CampaignLog,
    CampaignMeasure,
    CampaignQuantity,
)
from fengqiao.campaigns.progress import CampaignGap, add_done, gaps, town_progress
from fengqiao.campaigns.rules import (
    MeasureShape,
    check_measures,
    check_period,
    check_town_targets,
)
from fengqiao.campaigns.schemas import CampaignIn, CampaignPatch, QuantitiesIn
from fengqiao.campaigns.tagging import backfill, count_tag
from fengqiao.errors import Problem, check_version, conflict, invalid, not_found
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.taxonomy.models import Category

__all__ = ["CampaignGap", "gaps", "town_progress"]

WRITER_ROLES = ("operator", "leader", "admin")
READER_ROLES = ("operator", "leader", "admin", "handler", "unit_leader")
# Who may enter a closing's quantities: the writers, and the handlers of the event's unit.
QUANTITY_ROLES = ("operator", "leader", "admin", "handler")


def _trail(db: Session, campaign: Campaign, actor: int | None, action: str, now: datetime, *,
           event_id: int | None = None, note: str | None = None) -> None:  # fmt: skip
    db.add(CampaignLog(campaign_id=campaign.id, at=now, actor_id=actor, action=action,
                       event_id=event_id, note=note))  # fmt: skip


def out_of_scope(field: str) -> Problem:
    problem = invalid(field, "this area lies outside your scope", "该区域不在您的管辖范围内",
                      status=403)  # fmt: skip
    problem.slug, problem.title, problem.title_zh = ("campaign-out-of-scope",
                                                     "Outside your area", "超出管辖范围")  # fmt: skip
    return problem


# A campaign's area: a town, a district, or above it a city or the province (all its towns).
AREA_KINDS = ("province", "city", "district", "town")


def resolve_area(db: Session, principal: Principal, org_id: int,
                 town_ids: Sequence[int]) -> tuple[OrgUnit, list[int]]:  # fmt: skip
    """The campaign's unit (a province, city, district or town, in scope) and its towns (those
    named, each inside the unit; none named: every town of the unit)."""
    unit = db.get(OrgUnit, org_id)
    if unit is None or unit.kind not in AREA_KINDS:
        raise invalid(
            "org_id", f"no province, city, district or town with id {org_id}",
            f"省、市、区县或镇街 {org_id} 不存在",
        )  # fmt: skip
    if not principal.covers(unit.path):
        raise out_of_scope("org_id")
    if unit.kind == "town":
        if any(t != unit.id for t in town_ids):
            raise invalid("town_ids", "a town's campaign covers that town only",
                          "镇街的专项整治只能覆盖本镇街")  # fmt: skip
        return unit, [unit.id]
    children = {t.id: t for t in db.scalars(
        select(OrgUnit).where(
            OrgUnit.kind == "town", OrgUnit.path.startswith(unit.path, autoescape=True),
        )
    )}  # fmt: skip
    for town in town_ids:
        if town not in children:
            outside = db.get(OrgUnit, town)
            if outside is not None and outside.kind == "town":
                raise out_of_scope("town_ids")
            raise invalid("town_ids", f"no town with id {town} in {unit.name}",
                          f"{unit.name}没有编号为 {town} 的镇街")  # fmt: skip
    return unit, sorted(set(town_ids) or set(children))


def check_classes(db: Session, classes: Sequence[str]) -> list[str]:
    """The classes, each known; duplicates dropped, order kept."""
    known = set(db.scalars(select(Category.code).where(Category.code.in_(list(classes)))))
    for index, code in enumerate(classes):
        if code not in known:
            raise invalid(f"classes[{index}]", f"unknown class {code}", f"未知的事件分类 {code}")
    return list(dict.fromkeys(classes))


def create_campaign(*, db: Session, principal: Principal, data: CampaignIn,
                    now: datetime) -> Campaign:  # fmt: skip
    """Define a campaign in scope with its measures, and tag the events already in it."""
    principal.require_role(*WRITER_ROLES)
    check_period(data.start_date, data.end_date)
    unit, towns = resolve_area(db, principal, data.org_id, data.town_ids)
    classes = check_classes(db, data.classes)
    shapes = [MeasureShape(m.name, m.unit, tuple(m.classes), m.target, dict(m.town_targets))
              for m in data.measures]  # fmt: skip
    check_measures(shapes, classes=classes, towns=towns)
    campaign = Campaign(
        name=data.name.strip(), description=data.description.strip(), org_id=unit.id,
        org_path=unit.path, town_ids=towns, classes=classes, start_date=data.start_date,
        end_date=data.end_date, status="active", version=1, created_by=principal.user_id,
        created_at=now,
    )  # fmt: skip
    db.add(campaign)
    db.flush()
    for position, m in enumerate(data.measures):
        default = m.default_quantity
        if default is None:
            default = 1.0 if m.unit in COUNT_UNITS else 0.0
        db.add(CampaignMeasure(
            campaign_id=campaign.id, position=position, name=m.name.strip(), unit=m.unit,
            classes=list(dict.fromkeys(m.classes)), target=m.target,
            town_targets={str(k): v for k, v in m.town_targets.items()}, default_quantity=default,
        ))  # fmt: skip
    _trail(db, campaign, principal.user_id, "create", now)
    db.flush()
    backfill(db, campaign=campaign, now=now)
    return campaign


def get_campaign(db: Session, principal: Principal, campaign_id: int) -> Campaign:
    """A campaign the caller may see (its area, or one covering the caller's town); else 404."""
    principal.require_role(*READER_ROLES)
    campaign = db.get(Campaign, campaign_id)
    if campaign is None or not visible_towns(principal, campaign):
        raise not_found("campaign", "专项整治")
    return campaign


def visible_towns(principal: Principal, campaign: Campaign) -> list[int]:
    """The campaign's towns the caller sees: all when it covers the campaign's unit, else the
    caller's own town when the campaign covers it (a town sees its part of a district drive)."""
    if principal.covers(campaign.org_path):
        return list(campaign.town_ids)
    parts = [int(p) for p in principal.home_path.strip("/").split("/") if p]
    if len(parts) >= 2 and parts[1] in campaign.town_ids:
        return [parts[1]]
    return []


def _writable(principal: Principal, campaign: Campaign, version: int | None) -> None:
    principal.require_role(*WRITER_ROLES)
    if not principal.covers(campaign.org_path):
        raise out_of_scope("org_id")
    if version is not None:
        check_version(version, campaign.version, what="campaign", what_zh="专项整治")
    if campaign.status != "active":
        raise conflict("campaign-ended", "Campaign ended", "专项整治已结束",
                       "the campaign has ended", "该专项整治已结束，不能再修改")  # fmt: skip


def edit_campaign(*, db: Session, principal: Principal, campaign: Campaign, data: CampaignPatch,
                  now: datetime) -> Campaign:  # fmt: skip
    """Change a running campaign's name, description, period or targets."""
    _writable(principal, campaign, data.version)
    start = data.start_date or campaign.start_date
    end = data.end_date or campaign.end_date
    check_period(start, end, field="end_date" if data.end_date else "start_date")
    measures = {m.id: m for m in db.scalars(
        select(CampaignMeasure).where(CampaignMeasure.campaign_id == campaign.id))}  # fmt: skip
    for index, target in enumerate(data.targets or []):
        measure = measures.get(target.measure_id)
        if measure is None:
            raise invalid(f"targets[{index}].measure_id", "not a measure of this campaign",
                          "不是本专项整治的措施")  # fmt: skip
        shape = MeasureShape(measure.name, measure.unit, tuple(measure.classes), target.target,
                             dict(target.town_targets))  # fmt: skip
        check_town_targets(shape, towns=campaign.town_ids, field=f"targets[{index}].town_targets")
    for target in data.targets or []:
        measure = measures[target.measure_id]
        measure.target = target.target
        measure.town_targets = {str(k): v for k, v in target.town_targets.items()}
    if data.name is not None:
        campaign.name = data.name.strip()
    if data.description is not None:
        campaign.description = data.description.strip()
    widened = start < campaign.start_date or end > campaign.end_date
    campaign.start_date, campaign.end_date = start, end
    campaign.version += 1
    _trail(db, campaign, principal.user_id, "edit", now)
    db.flush()
    if widened:
        backfill(db, campaign=campaign, now=now)
    return campaign


def end_campaign(*, db: Session, principal: Principal, campaign: Campaign, version: int,
                 now: datetime) -> Campaign:  # fmt: skip
    """End a campaign: no more events are tagged to it; its figures stay."""
    _writable(principal, campaign, version)
    campaign.status, campaign.ended_at, campaign.ended_by = "ended", now, principal.user_id
    campaign.version += 1
    _trail(db, campaign, principal.user_id, "end", now)
    db.flush()
    return campaign


def event_by_code(db: Session, code: str) -> Event:
    event = db.scalars(select(Event).where(Event.code == code)).first()
    if event is None:
        raise not_found("event", "事件")
    return event


def _event_in_campaign(principal: Principal, campaign: Campaign, event: Event) -> None:
    if event.town_id not in visible_towns(principal, campaign):
        raise invalid("code", "the event lies outside the campaign's area (or yours)",
                      "该事件不在本专项整治（或您的管辖）范围内")  # fmt: skip


def tag_event(*, db: Session, principal: Principal, campaign: Campaign, code: str, reason: str,
              now: datetime) -> CampaignEvent:  # fmt: skip
    """Tag an event of the campaign's area to it by hand (or put back one removed)."""
    principal.require_role(*WRITER_ROLES)
    if campaign.status != "active":
        _writable(principal, campaign, None)
    event = event_by_code(db, code)
    _event_in_campaign(principal, campaign, event)
    tag = db.scalars(select(CampaignEvent).where(
        CampaignEvent.campaign_id == campaign.id, CampaignEvent.event_id == event.id
    ).with_for_update()).first()  # fmt: skip
    if tag is not None and tag.removed_at is None:
        raise conflict("already-tagged", "Already tagged", "已纳入",
                       "the event is already tagged to this campaign", "该事件已纳入本专项整治")  # fmt: skip
    if tag is None:
        tag = CampaignEvent(campaign_id=campaign.id, event_id=event.id, town_id=event.town_id,
                            counted=False)  # fmt: skip
        db.add(tag)
    tag.how, tag.tagged_at, tag.tagged_by, tag.reason = "hand", now, principal.user_id, reason
    tag.removed_at = tag.removed_by = None
    _trail(db, campaign, principal.user_id, "tag", now, event_id=event.id, note=reason.strip())
    db.flush()
    if event.status == "closed":
        count_tag(db, tag=tag, event=event)
    return tag


def untag_event(*, db: Session, principal: Principal, campaign: Campaign, code: str,
                reason: str, now: datetime) -> CampaignEvent:  # fmt: skip
    """Remove an event from the campaign by hand; what its closing counted is taken back."""
    principal.require_role(*WRITER_ROLES)
    event = event_by_code(db, code)
    _event_in_campaign(principal, campaign, event)
    tag = _live_tag(db, campaign, event)
    if tag.counted and tag.counted_day is not None:
        for quantity in _quantities(db, campaign.id, event.id):
            add_done(db, campaign_id=campaign.id, measure_id=quantity.measure_id,
                     town_id=tag.town_id, day=tag.counted_day, done=-quantity.quantity,
                     events=-1)  # fmt: skip
    tag.counted, tag.counted_day = False, None
    tag.removed_at, tag.removed_by = now, principal.user_id
    _trail(db, campaign, principal.user_id, "untag", now, event_id=event.id, note=reason.strip())
    db.flush()
    return tag


def _live_tag(db: Session, campaign: Campaign, event: Event) -> CampaignEvent:
    tag = db.scalars(select(CampaignEvent).where(
        CampaignEvent.campaign_id == campaign.id, CampaignEvent.event_id == event.id,
        CampaignEvent.removed_at.is_(None),
    ).with_for_update()).first()  # fmt: skip
    if tag is None:
        raise not_found("tagged event", "本专项整治中的该事件")
    return tag


def _quantities(db: Session, campaign_id: int, event_id: int) -> list[CampaignQuantity]:
    return list(db.scalars(select(CampaignQuantity).where(
        CampaignQuantity.campaign_id == campaign_id, CampaignQuantity.event_id == event_id)))  # fmt: skip


def set_quantities(*, db: Session, principal: Principal, campaign: Campaign, code: str,
                   data: QuantitiesIn, now: datetime) -> list[CampaignQuantity]:  # fmt: skip
    """Enter what a tagged event's closing achieved per measure (at feedback or closing, or a
    correction later): a counted closing's rollup moves by the difference."""
    principal.require_role(*QUANTITY_ROLES)
    event = event_by_code(db, code)
    if principal.has_any(*WRITER_ROLES):
        _event_in_campaign(principal, campaign, event)
    elif event.owner_unit_id is None or event.owner_unit_id != principal.unit_id:
        raise not_found("tagged event", "本专项整治中的该事件")
    tag = _live_tag(db, campaign, event)
    measures = {m.id: m for m in db.scalars(
        select(CampaignMeasure).where(CampaignMeasure.campaign_id == campaign.id))}  # fmt: skip
    for index, item in enumerate(data.quantities):
        measure = measures.get(item.measure_id)
        if measure is None:
            raise invalid(f"quantities[{index}].measure_id", "not a measure of this campaign",
                          "不是本专项整治的措施")  # fmt: skip
        if measure.unit in COUNT_UNITS and item.quantity != int(item.quantity):
            raise invalid(f"quantities[{index}].quantity", f"{measure.unit} counts whole things",
                          f"以“{measure.unit}”计的数量须为整数")  # fmt: skip
    stored = {q.measure_id: q for q in _quantities(db, campaign.id, event.id)}
    for item in data.quantities:
        old = stored.get(item.measure_id)
        if old is None:
            old = CampaignQuantity(campaign_id=campaign.id, event_id=event.id,
                                   measure_id=item.measure_id, quantity=0.0)  # fmt: skip
            db.add(old)
            stored[item.measure_id] = old
            previous, new_cell = 0.0, 1
        else:
            previous, new_cell = old.quantity, 0
        if tag.counted and tag.counted_day is not None:
            add_done(db, campaign_id=campaign.id, measure_id=item.measure_id,
                     town_id=tag.town_id, day=tag.counted_day,
                     done=item.quantity - previous, events=new_cell)  # fmt: skip
        old.quantity, old.entered_by, old.entered_at = item.quantity, principal.user_id, now
    note = "；".join(f"{measures[i.measure_id].name} {i.quantity:g}{measures[i.measure_id].unit}"
                    for i in data.quantities)  # fmt: skip
    _trail(db, campaign, principal.user_id, "quantities", now, event_id=event.id, note=note[:500])
    db.flush()
    return list(stored.values())

"""What the campaigns' pages and API show: a campaign with its measures' progress, the list in
the caller's scope, the tagged events, and the dashboard (by measure over days, by town). Every
figure of progress comes from the `campaign_progress` rollup, never from the events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal, or_, select
from sqlalchemy.orm import Session

from fengqiao.campaigns.models import (
    CAMPAIGN_STATUS_ZH,
    MEASURE_UNIT_ZH,
    TAG_HOW_ZH,
    Campaign,
    CampaignEvent,
    CampaignMeasure,
    CampaignProgress,
    CampaignQuantity,
)
from fengqiao.campaigns.progress import done_by, local_day, measures_of
from fengqiao.campaigns.rules import expected_fraction, town_share
from fengqiao.campaigns.service import READER_ROLES, WRITER_ROLES, visible_towns
from fengqiao.events.models import Event
from fengqiao.org.models import OrgUnit
from fengqiao.scope import Principal
from fengqiao.taxonomy.models import Category


def names_of(db: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = list(set(ids))
    if not wanted:
        return {}
    return dict(db.execute(select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(wanted))).all())


def _targets(measure: CampaignMeasure, campaign: Campaign, towns: Sequence[int]) -> float:
    if set(towns) == set(campaign.town_ids):
        return measure.target
    return sum(
        town_share(measure.target, measure.town_targets, campaign.town_ids, t, unit=measure.unit)
        for t in towns
    )


def campaigns_out(
    db: Session, principal: Principal, campaigns: Sequence[Campaign], today: date,
    done: dict[tuple[int, int], float] | None = None,
    measures: dict[int, list[CampaignMeasure]] | None = None,
) -> list[dict[str, Any]]:  # fmt: skip
    """The campaigns as the caller sees them (their towns' part), with progress to `today`
    (`done` and `measures`: already read by the caller, e.g. the dashboard)."""
    ids = [c.id for c in campaigns]
    measures = measures if measures is not None else measures_of(db, ids)
    done = done if done is not None else done_by(db, ids)
    places = names_of(
        db, [c.org_id for c in campaigns] + [t for c in campaigns for t in c.town_ids]
    )
    classes = dict(db.execute(select(Category.code, Category.name_zh)).all())
    found = []
    for campaign in campaigns:
        towns = visible_towns(principal, campaign)
        fraction = expected_fraction(campaign.start_date, campaign.end_date, today)
        rows, progress = [], []
        for measure in measures[campaign.id]:
            target = _targets(measure, campaign, towns)
            achieved = sum(done.get((measure.id, t), 0.0) for t in towns)
            progress.append(min(1.0, achieved / target) if target else 0.0)
            rows.append({
                "id": measure.id, "name": measure.name, "unit": measure.unit,
                "unit_name": MEASURE_UNIT_ZH[measure.unit], "classes": measure.classes,
                "target": target, "town_targets": measure.town_targets,
                "default_quantity": measure.default_quantity, "done": achieved,
                "expected_by_now": target * fraction,
            })  # fmt: skip
        found.append({
            "id": campaign.id, "name": campaign.name, "description": campaign.description,
            "org_id": campaign.org_id, "org_name": places.get(campaign.org_id, ""),
            "towns": [{"id": t, "name": places.get(t, "")} for t in towns],
            "classes": campaign.classes,
            "class_names": [classes.get(c, c) for c in campaign.classes],
            "start_date": campaign.start_date, "end_date": campaign.end_date,
            "status": campaign.status, "status_name": CAMPAIGN_STATUS_ZH[campaign.status],
            "version": campaign.version, "created_at": campaign.created_at,
            "ended_at": campaign.ended_at, "measures": rows,
            "can_end": campaign.status == "active" and principal.has_any(*WRITER_ROLES)
            and principal.covers(campaign.org_path),
            "progress": sum(progress) / len(progress) if progress else 0.0,
        })  # fmt: skip
    return found


def list_campaigns(
    *, db: Session, principal: Principal, status: str | None, offset: int, limit: int
) -> tuple[list[Campaign], int]:
    """Campaigns of the caller's area, and the district's that cover the caller's town."""
    principal.require_role(*READER_ROLES)
    inside = Campaign.org_path.startswith(principal.home_path, autoescape=True)
    parts = [int(p) for p in principal.home_path.strip("/").split("/") if p]
    condition = inside
    if len(parts) >= 2:  # a town's (or lower) caller also sees the district's campaigns
        condition = or_(inside, literal(principal.home_path).startswith(Campaign.org_path))
    query = select(Campaign).where(condition)
    if status:
        query = query.where(Campaign.status == status)
    rows = [c for c in db.scalars(query.order_by(Campaign.start_date.desc(), Campaign.id.desc()))
            if visible_towns(principal, c)]  # fmt: skip
    return rows[offset : offset + limit], len(rows)


def dashboard(
    db: Session, principal: Principal, campaign: Campaign, as_of: datetime
) -> dict[str, Any]:
    """Progress per measure over the days (cumulative, with the expected line), per town and
    measure (target, done, expected by now) and the lagging towns, from the rollup only."""
    today = local_day(as_of)
    towns = visible_towns(principal, campaign)
    by_town = done_by(db, [campaign.id], towns=towns)
    all_measures = measures_of(db, [campaign.id])
    (out,) = campaigns_out(db, principal, [campaign], today, by_town, all_measures)
    measures = all_measures[campaign.id]
    per_day: dict[int, dict[date, float]] = defaultdict(dict)
    for measure_id, day, done in db.execute(
        select(CampaignProgress.measure_id, CampaignProgress.day, func.sum(CampaignProgress.done))
        .where(CampaignProgress.campaign_id == campaign.id, CampaignProgress.town_id.in_(towns))
        .group_by(CampaignProgress.measure_id, CampaignProgress.day)
    ):
        per_day[measure_id][day] = float(done or 0)
    fraction = expected_fraction(campaign.start_date, campaign.end_date, today)
    last = min(today, campaign.end_date)
    series = []
    for measure, summary in zip(measures, out["measures"], strict=True):
        days, total, day = [], 0.0, campaign.start_date
        while day <= last:
            total += per_day[measure.id].get(day, 0.0)
            expected = summary["target"] * expected_fraction(
                campaign.start_date, campaign.end_date, day
            )
            days.append({"day": day, "done": total, "expected": expected})
            day += timedelta(days=1)
        series.append({
            "measure_id": measure.id, "name": measure.name, "unit": measure.unit,
            "target": summary["target"], "done": summary["done"],
            "expected_by_now": summary["expected_by_now"], "days": days,
        })  # fmt: skip
    names = names_of(db, towns)
    rows: list[dict[str, Any]] = []
    for town in towns:
        for measure in measures:
            share = town_share(
                measure.target, measure.town_targets, campaign.town_ids, town, unit=measure.unit
            )
            rows.append({
                "town_id": town, "town_name": names.get(town, ""), "measure_id": measure.id,
                "target": share, "done": by_town.get((measure.id, town), 0.0),
                "expected_by_now": share * fraction,
            })  # fmt: skip
    lagging = [r for r in rows if r["done"] < r["expected_by_now"]]
    lagging.sort(key=lambda r: (r["done"] / r["expected_by_now"]) if r["expected_by_now"] else 1)
    return {"campaign": out, "as_of": today, "measures": series, "towns": rows,
            "lagging": lagging}  # fmt: skip


def tagged_events(
    *, db: Session, principal: Principal, campaign: Campaign, offset: int, limit: int,
    removed: bool = False,
) -> tuple[list[dict[str, Any]], int]:  # fmt: skip
    """The events tagged to the campaign in the caller's towns, newest first."""
    towns = visible_towns(principal, campaign)
    where = [CampaignEvent.campaign_id == campaign.id, CampaignEvent.town_id.in_(towns)]
    where.append(
        CampaignEvent.removed_at.is_not(None) if removed else CampaignEvent.removed_at.is_(None)
    )
    total = db.scalar(select(func.count()).select_from(CampaignEvent).where(*where)) or 0
    rows = db.execute(
        select(CampaignEvent, Event.code, Event.title, Event.status)
        .join(Event, Event.id == CampaignEvent.event_id)
        .where(*where)
        .order_by(CampaignEvent.event_id.desc())
        .offset(offset)
        .limit(limit)
    ).all()
    quantities: dict[int, dict[str, float]] = defaultdict(dict)
    ids = [tag.event_id for tag, *_ in rows]
    if ids:
        for q in db.scalars(select(CampaignQuantity).where(
                CampaignQuantity.campaign_id == campaign.id, CampaignQuantity.event_id.in_(ids))):  # fmt: skip
            quantities[q.event_id][str(q.measure_id)] = q.quantity
    items = [{
        "event_id": tag.event_id, "code": code, "title": title, "town_id": tag.town_id,
        "status": status, "how": tag.how, "how_name": TAG_HOW_ZH[tag.how],
        "tagged_at": tag.tagged_at, "reason": tag.reason, "removed_at": tag.removed_at,
        "counted": tag.counted, "quantities": quantities[tag.event_id],
    } for tag, code, title, status in rows]  # fmt: skip
    return items, int(total)


def csv_rows(dash: dict[str, Any]) -> list[list[Any]]:
    """The dashboard's town table as CSV rows (镇街, 措施, 单位, 目标, 完成, 应完成, 完成率)."""
    measures = {m["id"]: m for m in dash["campaign"]["measures"]}
    rows = []
    for row in dash["towns"]:
        measure = measures[row["measure_id"]]
        rate = row["done"] / row["target"] if row["target"] else 0.0
        rows.append([row["town_name"], measure["name"], measure["unit_name"], f"{row['target']:g}",
                     f"{row['done']:g}", f"{row['expected_by_now']:.1f}", f"{rate:.1%}"])  # fmt: skip
    return rows


CSV_HEADER = ["镇街", "措施", "单位", "目标", "完成", "按进度应完成", "完成率"]


def event_campaigns(db: Session, principal: Principal, event_id: int) -> dict[str, Any]:
    """The running or ended campaigns an event is tagged to (that the caller may see), each
    with its measures and the quantities recorded for the event (for the event page)."""
    event = db.get(Event, event_id)
    if event is None:
        return {"code": "", "items": []}
    tags = list(db.execute(
        select(CampaignEvent, Campaign).join(Campaign, Campaign.id == CampaignEvent.campaign_id)
        .where(CampaignEvent.event_id == event_id, CampaignEvent.removed_at.is_(None))
        .order_by(Campaign.id)
    ).all())  # fmt: skip
    visible = [(tag, c) for tag, c in tags if event.town_id in visible_towns(principal, c)]
    ids = [c.id for _, c in visible]
    measures = measures_of(db, ids)
    entered = {
        (q.campaign_id, q.measure_id): q.quantity
        for q in db.scalars(select(CampaignQuantity).where(CampaignQuantity.event_id == event_id))
    }
    items = [{
        "campaign_id": c.id, "name": c.name, "status": c.status, "counted": tag.counted,
        "measures": [{
            "id": m.id, "name": m.name, "unit": m.unit, "unit_name": MEASURE_UNIT_ZH[m.unit],
            "applies": event.category_code in m.classes, "default_quantity": m.default_quantity,
            "quantity": entered.get((c.id, m.id)),
        } for m in measures[c.id]],
    } for tag, c in visible]  # fmt: skip
    return {"code": event.code if items else "", "items": items}

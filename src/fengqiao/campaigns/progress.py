"""The campaign progress rollup: written incrementally as tagged events close (or quantities
change), read by the dashboard, the bulletin, the meetings' agenda and the annual assessment.
Every read here reads `campaign_progress`, never the events."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from fengqiao.campaigns.models import Campaign, CampaignMeasure, CampaignProgress
from fengqiao.campaigns.rules import expected_fraction, town_share
from fengqiao.clock import LOCAL_TZ


def local_day(at: datetime) -> date:
    """The Asia/Shanghai day of an instant: progress is counted by local days."""
    return at.astimezone(LOCAL_TZ).date()


def add_done(db: Session, *, campaign_id: int, measure_id: int, town_id: int, day: date,
             done: float, events: int) -> None:  # fmt: skip
    """Add to one rollup cell (campaign, measure, town, day), making it when it is new."""
    cell = (
        CampaignProgress.campaign_id == campaign_id, CampaignProgress.measure_id == measure_id,
        CampaignProgress.town_id == town_id, CampaignProgress.day == day,
    )  # fmt: skip
    changed = db.execute(
        update(CampaignProgress)
        .where(*cell)
        .values(done=CampaignProgress.done + done, events=CampaignProgress.events + events)
        .execution_options(synchronize_session=False)
    )
    if getattr(changed, "rowcount", 0) == 0:
        db.add(CampaignProgress(campaign_id=campaign_id, measure_id=measure_id, town_id=town_id,
                                day=day, done=done, events=events))  # fmt: skip
        db.flush()


@dataclass(frozen=True)
class CampaignGap:
    """A measure of a running campaign behind its expected-by-now line (for a meeting's agenda)."""

    campaign_id: int
    campaign_name: str
    measure_name: str
    unit: str
    target: float
    done: float
    expected_by_now: float


def done_by(db: Session, campaign_ids: Sequence[int], *, until: date | None = None,
            towns: Iterable[int] | None = None) -> dict[tuple[int, int], float]:  # fmt: skip
    """(measure id, town id) → done, summed over the days up to `until` (all when None)."""
    if not campaign_ids:
        return {}
    query = (
        select(
            CampaignProgress.measure_id, CampaignProgress.town_id, func.sum(CampaignProgress.done)
        )
        .where(CampaignProgress.campaign_id.in_(campaign_ids))
        .group_by(CampaignProgress.measure_id, CampaignProgress.town_id)
    )
    if until is not None:
        query = query.where(CampaignProgress.day <= until)
    if towns is not None:
        query = query.where(CampaignProgress.town_id.in_(list(towns)))
    return {(m, t): float(d or 0) for m, t, d in db.execute(query)}


def measures_of(db: Session, campaign_ids: Sequence[int]) -> dict[int, list[CampaignMeasure]]:
    """Campaign id → its measures in their order."""
    found: dict[int, list[CampaignMeasure]] = defaultdict(list)
    if campaign_ids:
        for measure in db.scalars(
            select(CampaignMeasure)
            .where(CampaignMeasure.campaign_id.in_(campaign_ids))
            .order_by(CampaignMeasure.campaign_id, CampaignMeasure.position)
        ):
            found[measure.campaign_id].append(measure)
    return found


def town_progress(*, db: Session, year: int) -> dict[int, float]:
    """Town org id → 0..1: how far the town got towards its share of the targets of the
    campaigns running in `year`, by the year's end (mean over the measures, each capped at 1)."""
    first, last = date(year, 1, 1), date(year, 12, 31)
    campaigns = list(db.scalars(
        select(Campaign).where(Campaign.start_date <= last, Campaign.end_date >= first)
    ))  # fmt: skip
    ids = [c.id for c in campaigns]
    measures = measures_of(db, ids)
    done = done_by(db, ids, until=last)
    fractions: dict[int, list[float]] = defaultdict(list)
    for campaign in campaigns:
        for measure in measures[campaign.id]:
            for town in campaign.town_ids:
                share = town_share(
                    measure.target, measure.town_targets, campaign.town_ids, town, unit=measure.unit
                )
                if share > 0:
                    fractions[town].append(min(1.0, done.get((measure.id, town), 0.0) / share))
    return {town: sum(values) / len(values) for town, values in fractions.items()}


def gaps(*, db: Session, area_path: str, as_of: datetime) -> list[CampaignGap]:
    """The measures of the campaigns running at `as_of` over the area that lag their
    expected-by-now line; a town's (or village's) area sees its town's share, the district the
    whole."""
    today = local_day(as_of)
    running = list(db.scalars(
        select(Campaign)
        .where(Campaign.status == "active", Campaign.start_date <= today,
               Campaign.end_date >= today)
        .order_by(Campaign.id)
    ))  # fmt: skip
    ids = [c.id for c in running]
    measures = measures_of(db, ids)
    done = done_by(db, ids, until=today)
    found: list[CampaignGap] = []
    for campaign in running:
        towns = towns_for_area(campaign, area_path)
        if not towns:
            continue
        fraction = expected_fraction(campaign.start_date, campaign.end_date, today)
        for measure in measures[campaign.id]:
            target = sum(town_share(measure.target, measure.town_targets, campaign.town_ids, t,
                       unit=measure.unit)
                         for t in towns)  # fmt: skip
            achieved = sum(done.get((measure.id, t), 0.0) for t in towns)
            expected = target * fraction
            if achieved < expected:
                found.append(CampaignGap(
                    campaign_id=campaign.id, campaign_name=campaign.name,
                    measure_name=measure.name, unit=measure.unit, target=target,
                    done=achieved, expected_by_now=expected,
                ))  # fmt: skip
    return found


def towns_for_area(campaign: Campaign, area_path: str) -> list[int]:
    """The campaign's towns inside the area (the area's own town when it lies below a town)."""
    parts = [int(p) for p in area_path.strip("/").split("/") if p]
    if len(parts) >= 2:  # a town, a village or a grid: its town only
        return [parts[1]] if parts[1] in campaign.town_ids else []
    if campaign.org_path.startswith(area_path):
        return list(campaign.town_ids)
    return []


def town_id_of_path(path: str) -> int | None:
    """The town of an org path ("/district/town/..."), None for the district itself."""
    parts = [p for p in path.strip("/").split("/") if p]
    return int(parts[1]) if len(parts) >= 2 else None

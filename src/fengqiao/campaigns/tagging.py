"""Automatic tagging and the counting of closings, off the filing path.

Filing never waits on campaigns: the `campaigns` job reads the events filed since its cursor
(by id) and tags those whose class, town and local filing day fall in a running campaign, then
counts the tagged events that have closed since (their quantities go into the rollup on the
local day of the closing). A new campaign, or one whose period grows, tags the events already
filed in it at once (`backfill`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import cast

from sqlalchemy import Table, bindparam, exists, func, insert, literal, select, update
from sqlalchemy.orm import Session

from fengqiao.campaigns.models import (
    Campaign,
    CampaignCursor,
    CampaignEvent,
    CampaignMeasure,
    CampaignQuantity,
)
from fengqiao.campaigns.progress import add_done, local_day
from fengqiao.clock import LOCAL_TZ
from fengqiao.db import Database
from fengqiao.events.models import Event

CURSOR = "events"


def _bounds(campaign: Campaign) -> tuple[datetime, datetime]:
    start = datetime.combine(campaign.start_date, time(0), LOCAL_TZ)
    end = datetime.combine(campaign.end_date + timedelta(days=1), time(0), LOCAL_TZ)
    return start, end


def backfill(db: Session, *, campaign: Campaign, now: datetime) -> int:
    """Tag every event already filed in the campaign's classes, towns and period (one insert)."""
    start, end = _bounds(campaign)
    tagged = exists().where(CampaignEvent.campaign_id == campaign.id,
                            CampaignEvent.event_id == Event.id)  # fmt: skip
    rows = select(
        literal(campaign.id), Event.id, Event.town_id, literal("auto"), literal(now),
        literal(False),
    ).where(
        Event.category_code.in_(campaign.classes), Event.created_at >= start,
        Event.created_at < end, Event.town_id.in_(campaign.town_ids), ~tagged,
    )  # fmt: skip

    def tags() -> int:
        return db.scalar(select(func.count()).select_from(CampaignEvent).where(
            CampaignEvent.campaign_id == campaign.id)) or 0  # fmt: skip

    before = tags()
    db.execute(insert(CampaignEvent).from_select(
        ["campaign_id", "event_id", "town_id", "how", "tagged_at", "counted"], rows))  # fmt: skip
    db.flush()
    # (psycopg reports no row count for INSERT … SELECT: count instead)
    return tags() - before


def tag_new(db: Session, *, now: datetime, batch: int) -> tuple[int, int]:
    """Tag the next `batch` events filed since the cursor; (events read, tags made)."""
    cursor = db.get(CampaignCursor, CURSOR, with_for_update=True)
    if cursor is None:
        cursor = CampaignCursor(name=CURSOR, last_event_id=0)
        db.add(cursor)
    rows = db.execute(
        select(Event.id, Event.town_id, Event.category_code, Event.created_at)
        .where(Event.id > cursor.last_event_id).order_by(Event.id).limit(batch)
    ).all()  # fmt: skip
    if not rows:
        return 0, 0
    running = [(c, *_bounds(c)) for c in db.scalars(select(Campaign).where(
        Campaign.status == "active"))]  # fmt: skip
    wanted: list[tuple[int, int, int]] = []
    for event_id, town_id, code, created_at in rows:
        for campaign, start, end in running:
            if (
                code in campaign.classes
                and town_id in campaign.town_ids
                and (start <= created_at < end)
            ):
                wanted.append((campaign.id, event_id, town_id))
    made = 0
    if wanted:
        present = set(db.execute(select(CampaignEvent.campaign_id, CampaignEvent.event_id).where(
            CampaignEvent.event_id.in_([w[1] for w in wanted]))).all())  # fmt: skip
        fresh = [w for w in wanted if (w[0], w[1]) not in present]
        for campaign_id, event_id, town_id in fresh:
            db.add(CampaignEvent(campaign_id=campaign_id, event_id=event_id, town_id=town_id,
                                 how="auto", tagged_at=now, counted=False))  # fmt: skip
        made = len(fresh)
    cursor.last_event_id = rows[-1][0]
    db.flush()
    return len(rows), made


def count_tag(db: Session, *, tag: CampaignEvent, event: Event) -> int:
    """Count a tagged event's closing: each measure of its class (or with a quantity entered)
    adds the entered quantity, else the measure's default, on the closing's local day."""
    if tag.counted or event.closed_at is None:
        return 0
    entered = {q.measure_id: q for q in db.scalars(select(CampaignQuantity).where(
        CampaignQuantity.campaign_id == tag.campaign_id,
        CampaignQuantity.event_id == event.id))}  # fmt: skip
    day = local_day(event.closed_at)
    cells = 0
    for measure in db.scalars(select(CampaignMeasure).where(
            CampaignMeasure.campaign_id == tag.campaign_id)):  # fmt: skip
        quantity = entered.get(measure.id)
        if quantity is None:
            if event.category_code not in measure.classes:
                continue
            quantity = CampaignQuantity(
                campaign_id=tag.campaign_id, event_id=event.id, measure_id=measure.id,
                quantity=measure.default_quantity, entered_by=None, entered_at=event.closed_at,
            )  # fmt: skip
            db.add(quantity)
        add_done(db, campaign_id=tag.campaign_id, measure_id=measure.id, town_id=tag.town_id,
                 day=day, done=quantity.quantity, events=1)  # fmt: skip
        cells += 1
    tag.counted, tag.counted_day = True, day
    db.flush()
    return cells


def count_closed(db: Session, *, batch: int) -> int:
    """Count the next `batch` tagged events that have closed and are not counted yet, set-wise:
    default quantities in one insert, rollup cells added per cell, tags marked in one update."""
    found = db.execute(
        select(
            CampaignEvent.id,
            CampaignEvent.campaign_id,
            CampaignEvent.town_id,
            Event.id,
            Event.category_code,
            Event.closed_at,
        )
        .join(Event, Event.id == CampaignEvent.event_id)
        .where(
            CampaignEvent.counted.is_(False),
            CampaignEvent.removed_at.is_(None),
            Event.status == "closed",
            Event.closed_at.is_not(None),
        )
        .order_by(CampaignEvent.event_id)
        .limit(batch)
    ).all()
    if not found:
        return 0
    campaign_ids = sorted({row[1] for row in found})
    measures: dict[int, list[CampaignMeasure]] = {c: [] for c in campaign_ids}
    for measure in db.scalars(select(CampaignMeasure).where(
            CampaignMeasure.campaign_id.in_(campaign_ids))):  # fmt: skip
        measures[measure.campaign_id].append(measure)
    event_ids = [row[3] for row in found]
    entered = {
        (q.campaign_id, q.event_id, q.measure_id): q.quantity
        for q in db.execute(
            select(
                CampaignQuantity.campaign_id,
                CampaignQuantity.event_id,
                CampaignQuantity.measure_id,
                CampaignQuantity.quantity,
            ).where(CampaignQuantity.event_id.in_(event_ids))
        )
    }
    defaults: list[dict[str, object]] = []
    cells: dict[tuple[int, int, int, date], list[float]] = {}
    marks: list[dict[str, object]] = []
    for tag_id, campaign_id, town_id, event_id, code, closed_at in found:
        assert closed_at is not None  # selected so
        day = local_day(closed_at)
        for measure in measures[campaign_id]:
            quantity = entered.get((campaign_id, event_id, measure.id))
            if quantity is None:
                if code not in measure.classes:
                    continue
                quantity = measure.default_quantity
                defaults.append({"campaign_id": campaign_id, "event_id": event_id,
                                 "measure_id": measure.id, "quantity": quantity,
                                 "entered_by": None, "entered_at": closed_at})  # fmt: skip
            cell = cells.setdefault((campaign_id, measure.id, town_id, day), [0.0, 0])
            cell[0] += quantity
            cell[1] += 1
        marks.append({"tag_id": tag_id, "day": day})
    if defaults:
        db.execute(insert(CampaignQuantity), defaults)
    for (campaign_id, measure_id, town_id, day), (done, events) in cells.items():
        add_done(db, campaign_id=campaign_id, measure_id=measure_id, town_id=town_id, day=day,
                 done=done, events=int(events))  # fmt: skip
    table = cast(Table, CampaignEvent.__table__)
    db.execute(
        update(table).where(table.c.id == bindparam("tag_id"))
        .values(counted=True, counted_day=bindparam("day")),
        marks,
    )  # fmt: skip
    db.flush()
    return len(found)


@dataclass
class TagReport:
    events: int = 0
    tagged: int = 0
    counted: int = 0


def run(database: Database, *, now: datetime, batch: int = 1000) -> TagReport:
    """Tag what was filed and count what closed, a batch per transaction, until caught up."""
    report = TagReport()
    while True:
        with database.transaction() as db:
            read, made = tag_new(db, now=now, batch=batch)
        report.events += read
        report.tagged += made
        if read < batch:
            break
    while True:
        with database.transaction() as db:
            counted = count_closed(db, batch=batch)
        report.counted += counted
        if counted < batch:
            break
    return report

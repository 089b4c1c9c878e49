"""Campaigns over HTTP under /api/v1/campaigns: list, define, change and end campaigns of the
caller's area; the dashboard (and its CSV); the tagged events, tagging by hand and the
quantities a closing achieved."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response

from fengqiao.campaigns import reads, service
from fengqiao.campaigns.progress import local_day
from fengqiao.campaigns.schemas import (
    CampaignIn,
    CampaignOut,
    CampaignPatch,
    CampaignStep,
    DashboardOut,
    QuantitiesIn,
    TaggedEventOut,
    TagIn,
    UntagIn,
)
from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.exports import csv_download, stamped
from fengqiao.paging import Page, Paging

router = APIRouter(tags=["campaigns"])


def _one(db: Any, principal: Any, campaign_id: int, clock: Any) -> dict[str, Any]:
    campaign = service.get_campaign(db, principal, campaign_id)
    (out,) = reads.campaigns_out(db, principal, [campaign], local_day(clock.now()))
    return out


@router.get("/campaigns", response_model=Page[CampaignOut], summary="Campaigns (专项整治)")
def list_campaigns(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging, clock: AppClock,
    status: Literal["active", "ended"] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Campaigns of the caller's area and the district's covering the caller's town (each with
    the caller's towns' part), newest first; `status` filters."""
    with database.session() as db:
        rows, total = reads.list_campaigns(
            db=db, principal=principal, status=status, offset=paging.offset, limit=paging.size
        )
        items = reads.campaigns_out(db, principal, rows, local_day(clock.now()))
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/campaigns", response_model=CampaignOut, status_code=201, summary="Define a campaign")
def create_campaign(
    body: CampaignIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A campaign over classes, towns and a period, with its measures; the events already filed
    in it are tagged at once. Refused (problem+json naming the field): overlapping measures, a
    period ending before it starts, an unknown class, an area outside the caller's scope."""
    with database.transaction() as db:
        campaign = service.create_campaign(db=db, principal=principal, data=body, now=clock.now())
        return _one(db, principal, campaign.id, clock)


@router.get("/campaigns/event-tags/{event_id}", summary="The campaigns an event is tagged to")
def event_tags(event_id: int, principal: CurrentPrincipal, database: AppDatabase) -> dict[str, Any]:
    """For the event page: each campaign the event counts for, with its measures (whether the
    event's class counts for each) and the quantities recorded; empty when none."""
    principal.require_role(*service.QUANTITY_ROLES, "unit_leader")
    with database.session() as db:
        return reads.event_campaigns(db, principal, event_id)


@router.get("/campaigns/{campaign_id}", response_model=CampaignOut, summary="One campaign")
def read_campaign(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """404 for a campaign the caller may not see."""
    with database.session() as db:
        return _one(db, principal, campaign_id, clock)


@router.patch("/campaigns/{campaign_id}", response_model=CampaignOut, summary="Change a campaign")
def edit_campaign(
    campaign_id: int, body: CampaignPatch, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Name, description, period or targets of a running campaign; send the `version` read."""
    with database.transaction() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        service.edit_campaign(db=db, principal=principal, campaign=campaign, data=body,
                              now=clock.now())  # fmt: skip
        return _one(db, principal, campaign.id, clock)


@router.post("/campaigns/{campaign_id}/end", response_model=CampaignOut, summary="End a campaign")
def end_campaign(
    campaign_id: int, body: CampaignStep, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    with database.transaction() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        service.end_campaign(db=db, principal=principal, campaign=campaign,
                             version=body.version, now=clock.now())  # fmt: skip
        return _one(db, principal, campaign.id, clock)


@router.get(
    "/campaigns/{campaign_id}/dashboard", response_model=DashboardOut, summary="Campaign dashboard"
)
def campaign_dashboard(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Progress per measure over the days with the expected-by-now line, per town and measure,
    and the lagging towns; read from the progress rollup only."""
    with database.session() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        return reads.dashboard(db, principal, campaign, clock.now())


@router.get("/campaigns/{campaign_id}/dashboard.csv", summary="Campaign progress by town (CSV)")
def campaign_dashboard_csv(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> Response:
    """The dashboard's table of towns and measures, UTF-8 with a byte order mark."""
    with database.session() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        rows = reads.csv_rows(reads.dashboard(db, principal, campaign, clock.now()))
    return csv_download(reads.CSV_HEADER, rows, filename=stamped(f"campaign-{campaign_id}",
                                                                 clock.now()))  # fmt: skip


@router.get(
    "/campaigns/{campaign_id}/events", response_model=Page[TaggedEventOut],
    summary="Events tagged to a campaign",
)  # fmt: skip
def campaign_events(
    campaign_id: int, principal: CurrentPrincipal, database: AppDatabase, paging: Paging,
    removed: bool = False,
) -> dict[str, Any]:  # fmt: skip
    """The tagged events of the caller's towns with their recorded quantities; `removed=true`
    lists those removed by hand."""
    with database.session() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        items, total = reads.tagged_events(db=db, principal=principal, campaign=campaign,
                                           offset=paging.offset, limit=paging.size,
                                           removed=removed)  # fmt: skip
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/campaigns/{campaign_id}/events", status_code=201, summary="Tag an event by hand")
def tag_event(
    campaign_id: int, body: TagIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """An event of the campaign's area (and the caller's), with a reason."""
    with database.transaction() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        tag = service.tag_event(db=db, principal=principal, campaign=campaign, code=body.code,
                                reason=body.reason, now=clock.now())  # fmt: skip
        return {"event_id": tag.event_id, "how": tag.how, "counted": tag.counted}


@router.post("/campaigns/{campaign_id}/events/{code}/remove", summary="Remove a tagged event")
def untag_event(
    campaign_id: int, code: str, body: UntagIn, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Take an event out of the campaign with a reason; what its closing counted is taken back
    and the automatic tagging never puts it back."""
    with database.transaction() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        tag = service.untag_event(db=db, principal=principal, campaign=campaign, code=code[:32],
                                  reason=body.reason, now=clock.now())  # fmt: skip
        return {"event_id": tag.event_id, "removed_at": tag.removed_at}


@router.put("/campaigns/{campaign_id}/events/{code}", summary="Quantities of a tagged event")
def put_quantities(
    campaign_id: int, code: str, body: QuantitiesIn, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """What the event's closing achieved per measure (e.g. 拆除违建 1 处 and 320 m²), entered at
    feedback or closing by the handler of the event's unit or by staff of the area; a closing
    already counted moves the rollup by the difference."""
    with database.transaction() as db:
        campaign = service.get_campaign(db, principal, campaign_id)
        stored = service.set_quantities(db=db, principal=principal, campaign=campaign,
                                        code=code[:32], data=body, now=clock.now())  # fmt: skip
        return {"quantities": {str(q.measure_id): q.quantity for q in stored}}

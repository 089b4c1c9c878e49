"""Analysis meetings over HTTP under /api/v1/meetings: the list of the caller's area by month,
arranging a meeting, its agenda (drafted from the data, then edited), holding it with minutes,
who was there and decisions (each a tracked task), more decisions, cancelling it."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.meetings import service
from fengqiao.meetings.agenda import draft_agenda
from fengqiao.meetings.answers import meetings_out, with_lights
from fengqiao.meetings.schemas import (
    AgendaIn,
    AgendaOut,
    CancelIn,
    DecisionsIn,
    HoldIn,
    MeetingIn,
    MeetingOut,
    MeetingPatch,
)
from fengqiao.paging import Page, Paging

router = APIRouter(tags=["meetings"])
MeetingId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/meetings", response_model=Page[MeetingOut], summary="Meetings of the caller's area")
def list_meetings(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, paging: Paging,
    month: Annotated[str | None, Query(pattern=r"^20\d\d-(0[1-9]|1[0-2])$")] = None,
    level: Literal["province", "city", "district", "town", "village"] | None = None,
    status: Literal["scheduled", "held", "missed", "cancelled"] | None = None,
    org: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> dict[str, Any]:  # fmt: skip
    """Meetings of orgs in the caller's scope by time: `month` (YYYY-MM, local), `level`,
    `status`, `org`. Operators, leaders and administrators."""
    with database.session() as db:
        rows, total = service.list_meetings(
            db=db, principal=principal, month=month, level=level, status=status, org=org,
            offset=paging.offset, limit=paging.size,
        )  # fmt: skip
        items = meetings_out(db, principal, rows, clock.now())
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/meetings", response_model=MeetingOut, status_code=201, summary="Arrange a meeting")
def create_meeting(
    body: MeetingIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A meeting of a district, town or village in scope (403 outside it); attendees must work
    in that area or above it; the agenda is drafted at once."""
    now = clock.now()
    with database.transaction() as db:
        meeting = service.create_meeting(db=db, principal=principal, data=body, now=now)
        return meetings_out(db, principal, [meeting], now, detail=True)[0]


@router.get("/meetings/{meeting_id}", response_model=MeetingOut, summary="One meeting")
def read_meeting(
    meeting_id: MeetingId, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Attendees, the agenda (each task item with its light now), minutes, the decisions as
    tasks with their lights, the trail. 404 outside the caller's area."""
    with database.session() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        return meetings_out(db, principal, [meeting], clock.now(), detail=True)[0]


@router.patch("/meetings/{meeting_id}", response_model=MeetingOut, summary="Change a meeting")
def edit_meeting(
    meeting_id: MeetingId, body: MeetingPatch, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Title, time, place, room or attendees of a meeting not held; send the `version` read."""
    now = clock.now()
    with database.transaction() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        service.edit_meeting(db=db, principal=principal, meeting=meeting, data=body, now=now)
        return meetings_out(db, principal, [meeting], now, detail=True)[0]


@router.get(
    "/meetings/{meeting_id}/agenda/draft", response_model=AgendaOut,
    summary="A fresh agenda drafted from the data",
)  # fmt: skip
def agenda_draft(
    meeting_id: MeetingId, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Drafted now from the area's data for the meeting's period (earlier decisions first);
    nothing is stored: PUT it to keep it."""
    now = clock.now()
    with database.session() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        return {"sections": with_lights(db, draft_agenda(db=db, meeting=meeting, now=now), now)}


@router.get("/meetings/{meeting_id}/people", summary="Who may attend and own decisions")
def meeting_people(
    meeting_id: MeetingId, principal: CurrentPrincipal, database: AppDatabase
) -> dict[str, Any]:
    """The units and staff of the meeting's area and of the orgs above it (at most 300 each)."""
    with database.session() as db:
        return service.candidates(db, service.get_meeting(db, principal, meeting_id))


@router.put("/meetings/{meeting_id}/agenda", response_model=MeetingOut, summary="Save the agenda")
def save_agenda(
    meeting_id: MeetingId, body: AgendaIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The operator's agenda: sections of items (text, and the task, event or warning an item
    is about)."""
    now = clock.now()
    with database.transaction() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        sections = [s.model_dump() for s in body.sections]
        service.set_agenda(db=db, principal=principal, meeting=meeting, sections=sections,
                           version=body.version, now=now)  # fmt: skip
        return meetings_out(db, principal, [meeting], now, detail=True)[0]


@router.post("/meetings/{meeting_id}/hold", response_model=MeetingOut, summary="Record a meeting")
def hold_meeting(
    meeting_id: MeetingId, body: HoldIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Minutes, who was there, and the decisions: each decision needs an owner (a unit or a
    person; 422 naming `decisions[i].owner` otherwise, nothing stored) and becomes a tracked
    task with its deadline (working days), light, reminder and trail."""
    now = clock.now()
    with database.transaction() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        service.hold_meeting(
            db=db, principal=principal, meeting=meeting, minutes=body.minutes_text,
            present_ids=body.present_ids, decisions=body.decisions, version=body.version, now=now,
        )  # fmt: skip
        return meetings_out(db, principal, [meeting], now, detail=True)[0]


@router.post(
    "/meetings/{meeting_id}/decisions", response_model=MeetingOut, status_code=201,
    summary="Add decisions to a held meeting",
)  # fmt: skip
def add_decisions(
    meeting_id: MeetingId, body: DecisionsIn, principal: CurrentPrincipal,
    database: AppDatabase, clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    now = clock.now()
    with database.transaction() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        service.add_decisions(db=db, principal=principal, meeting=meeting,
                              decisions=body.decisions, version=body.version, now=now)  # fmt: skip
        return meetings_out(db, principal, [meeting], now, detail=True)[0]


@router.post("/meetings/{meeting_id}/cancel", response_model=MeetingOut, summary="Cancel")
def cancel_meeting(
    meeting_id: MeetingId, body: CancelIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    now = clock.now()
    with database.transaction() as db:
        meeting = service.get_meeting(db, principal, meeting_id)
        service.cancel_meeting(db=db, principal=principal, meeting=meeting, reason=body.reason,
                               version=body.version, now=now)  # fmt: skip
        return meetings_out(db, principal, [meeting], now, detail=True)[0]

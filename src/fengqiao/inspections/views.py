"""Supervision rounds over HTTP: groups and rounds under /api/v1/inspections, the towns'
self-assessments under /api/v1/inspections/self-assessments, and the rectification items under
/api/v1/rectifications (tracked tasks: their photos and completion under /api/v1/tasks)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.inspections import groups, rounds, selfassess, service
from fengqiao.inspections.schemas import (
    GroupIn,
    GroupOut,
    GroupPatch,
    MissingOut,
    RectificationOut,
    RoundIn,
    RoundOut,
    SelfAssessmentIn,
    SelfAssessmentOut,
    TownSummaryOut,
)
from fengqiao.paging import Page, Paging

router = APIRouter(tags=["inspections"])
Id = Annotated[int | None, Query(ge=1, le=2**31 - 1)]
Year = Annotated[int | None, Query(ge=2000, le=2100)]
Month = Annotated[str | None, Query(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]


# --- groups -----------------------------------------------------------------------------------


@router.get("/inspections/groups", response_model=list[GroupOut], summary="Supervision groups")
def list_groups(principal: CurrentPrincipal, database: AppDatabase) -> list[dict[str, Any]]:
    """The district's groups with their members and towns (the district's: staff read them)."""
    with database.session() as db:
        return groups.groups_out(db, groups.list_groups(db, principal))


@router.post(
    "/inspections/groups", response_model=GroupOut, status_code=201, summary="Form a group"
)
def create_group(
    body: GroupIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """District administrators and leaders; a town of another group is 409 naming `town_ids`."""
    with database.transaction() as db:
        group = groups.create_group(db=db, principal=principal, data=body, now=clock.now())
        return groups.groups_out(db, [group])[0]


@router.patch("/inspections/groups/{group_id}", response_model=GroupOut, summary="Change a group")
def edit_group(
    group_id: int, body: GroupPatch, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Name, members or towns (each list whole); send the `version` read."""
    with database.transaction() as db:
        group = groups.get_group(db, principal, group_id)
        groups.edit_group(db=db, principal=principal, group=group, data=body, now=clock.now())
        return groups.groups_out(db, [group])[0]


# --- self-assessments (before /inspections/{round_id}) ------------------------------------------


@router.get(
    "/inspections/self-assessments", response_model=list[SelfAssessmentOut],
    summary="Towns' self-assessments",
)  # fmt: skip
def list_self_assessments(
    principal: CurrentPrincipal, database: AppDatabase, year: Year = None, town_id: Id = None
) -> list[dict[str, Any]]:
    """Of towns in the caller's scope, newest year first."""
    with database.session() as db:
        return selfassess.sheets_out(db, selfassess.list_sheets(
            db=db, principal=principal, year=year, town_id=town_id))  # fmt: skip


@router.post(
    "/inspections/self-assessments", response_model=SelfAssessmentOut,
    summary="Record a town's self-assessment",
)  # fmt: skip
def save_self_assessment(
    body: SelfAssessmentIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Every item of the standard in force, once; kept as a draft until `submit` (then final,
    409 `self-assessment-submitted`). The town's operators and leaders."""
    with database.transaction() as db:
        sheet = selfassess.save(db=db, principal=principal, data=body, now=clock.now())
        return selfassess.sheets_out(db, [sheet], detail=True)[0]


@router.get(
    "/inspections/self-assessments/{sheet_id}", response_model=SelfAssessmentOut,
    summary="One self-assessment",
)  # fmt: skip
def read_self_assessment(sheet_id: int, principal: CurrentPrincipal, database: AppDatabase) -> Any:
    with database.session() as db:
        return selfassess.sheets_out(db, [selfassess.get(db, principal, sheet_id)], detail=True)[0]


# --- rounds -----------------------------------------------------------------------------------


@router.get("/inspections", response_model=Page[RoundOut], summary="Supervision rounds")
def list_rounds(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, paging: Paging,
    town_id: Id = None, group_id: Id = None, year: Year = None,
) -> dict[str, Any]:  # fmt: skip
    """Rounds of towns in the caller's scope, newest month first."""
    with database.session() as db:
        rows, total = rounds.list_rounds(db=db, principal=principal, town_id=town_id,
                                         group_id=group_id, year=year, offset=paging.offset,
                                         limit=paging.size)  # fmt: skip
        items = rounds.rounds_out(db, rows, clock.now())
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/inspections", response_model=RoundOut, status_code=201, summary="Score a round")
def create_round(
    body: RoundIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A member of the group scores a town the group covers (else 422 naming `town_id`) for a
    month without a round; every item not met becomes a rectification item."""
    now = clock.now()
    with database.transaction() as db:
        the_round = rounds.create_round(db=db, principal=principal, data=body, now=now)
        return rounds.rounds_out(db, [the_round], now, detail=True)[0]


@router.get("/inspections/missing", response_model=MissingOut, summary="Towns without a round")
def missing_rounds(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, month: Month = None
) -> dict[str, Any]:
    """Towns in scope assigned to a group with no round for `month` (default: this month)."""
    year, number = rounds.parse_month(month) if month else rounds.month_of(clock.now())
    with database.session() as db:
        towns = rounds.missing(db=db, principal=principal, year=year, month=number)
    return {"month": f"{year:04d}-{number:02d}", "towns": towns}


@router.get("/inspections/summary", response_model=list[TownSummaryOut], summary="Rounds per town")
def town_summary(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, year: Year = None
) -> list[dict[str, Any]]:
    """Per town in scope for `year` (default: this year): its group, rounds and mean score,
    rectifications and on-time rate, self-assessment."""
    with database.session() as db:
        return service.summary(db=db, principal=principal,
                               year=year or rounds.month_of(clock.now())[0])  # fmt: skip


@router.get("/inspections/{round_id}", response_model=RoundOut, summary="One round")
def read_round(
    round_id: int, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """Every item's result and its rectification (code, status, light), and the trail."""
    with database.session() as db:
        the_round = rounds.get_round(db, principal, round_id)
        return rounds.rounds_out(db, [the_round], clock.now(), detail=True)[0]


# --- rectifications ---------------------------------------------------------------------------


@router.get("/rectifications", response_model=Page[RectificationOut], summary="Rectification items")
def list_rectifications(
    principal: CurrentPrincipal, database: AppDatabase, clock: AppClock, paging: Paging,
    town_id: Id = None, round_id: Id = None,
    status: Literal["open", "done", "cancelled"] | None = None,
    light: Literal["green", "yellow", "red"] | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The rectification items of rounds of towns in scope, latest due first; each is a tracked
    task (`/api/v1/tasks/{code}`: photos, progress, completion with photo evidence)."""
    with database.session() as db:
        items, total = service.list_rectifications(
            db=db, principal=principal, now=clock.now(), town_id=town_id, status=status,
            light=light, round_id=round_id, offset=paging.offset, limit=paging.size,
        )  # fmt: skip
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}

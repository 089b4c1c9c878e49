"""Joint operations over HTTP under /api/v1/joint-operations: plan, list, read, link events,
record results, cancel. Operators write, leaders read, each in their own area."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.jointops import service
from fengqiao.jointops.schemas import CancelIn, LinkIn, OperationIn, OperationOut, ResultsIn
from fengqiao.paging import Page, Paging

router = APIRouter(tags=["joint-operations"])


@router.get(
    "/joint-operations", response_model=Page[OperationOut], summary="Joint operations (联合行动)"
)
def list_operations(
    principal: CurrentPrincipal, database: AppDatabase, paging: Paging,
    status: Literal["planned", "done", "cancelled"] | None = None, town_id: int | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The joint operations of the caller's area, latest first; `status` and `town_id` filter.
    Operators, leaders and administrators."""
    with database.session() as db:
        rows, total = service.list_operations(
            db=db, principal=principal, status=status, town_id=town_id, offset=paging.offset,
            limit=paging.size,
        )  # fmt: skip
        items = [service.operation_out(db, row) for row in rows]
    return {"items": items, "total": total, "page": paging.page, "size": paging.size}


@router.post("/joint-operations", response_model=OperationOut, status_code=201, summary="Plan one")
def plan_operation(
    body: OperationIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A planned joint action of the district or a town in scope: its units (a lead and others of
    the town or district departments), people, place (a point or an area) and time window, and
    the events it takes on (each in scope). Operators and administrators."""
    with database.transaction() as db:
        operation = service.plan_operation(db=db, principal=principal, data=body, now=clock.now())
        return service.operation_out(db, operation, detail=True)


@router.get(
    "/joint-operations/{operation_id}", response_model=OperationOut, summary="One, with events"
)
def get_operation(
    operation_id: int, principal: CurrentPrincipal, database: AppDatabase
) -> dict[str, Any]:
    """The operation, its linked events and its trail; 404 outside the caller's area."""
    with database.session() as db:
        operation = service.get_operation(db=db, principal=principal, operation_id=operation_id)
        return service.operation_out(db, operation, detail=True)


@router.post(
    "/joint-operations/{operation_id}/events", response_model=OperationOut, summary="Link events"
)
def link_events(
    operation_id: int, body: LinkIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Link events of the operation's area to a planned operation."""
    with database.transaction() as db:
        operation = service.get_operation(
            db=db, principal=principal, operation_id=operation_id, lock=True
        )
        service.link_events(db=db, principal=principal, operation=operation, data=body,
                            now=clock.now())  # fmt: skip
        return service.operation_out(db, operation, detail=True)


@router.post(
    "/joint-operations/{operation_id}/results", response_model=OperationOut,
    summary="Record the results",
)  # fmt: skip
def record_results(
    operation_id: int, body: ResultsIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The operation is done: results text, quantities (each name once) and the events it
    closed; a stale version is 409."""
    with database.transaction() as db:
        operation = service.get_operation(
            db=db, principal=principal, operation_id=operation_id, lock=True
        )
        service.record_results(db=db, principal=principal, operation=operation, data=body,
                               now=clock.now())  # fmt: skip
        return service.operation_out(db, operation, detail=True)


@router.post(
    "/joint-operations/{operation_id}/cancel", response_model=OperationOut, summary="Call it off"
)
def cancel_operation(
    operation_id: int, body: CancelIn, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Cancel a planned operation, with the reason."""
    with database.transaction() as db:
        operation = service.get_operation(
            db=db, principal=principal, operation_id=operation_id, lock=True
        )
        service.cancel_operation(db=db, principal=principal, operation=operation, data=body,
                                 now=clock.now())  # fmt: skip
        return service.operation_out(db, operation, detail=True)

"""The standard over HTTP under /api/v1/standards: every staff member reads the versions; the
district's administrators and leaders draft, change and publish them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fengqiao.deps import AppClock, AppDatabase, CurrentPrincipal
from fengqiao.standards import service
from fengqiao.standards.schemas import StandardIn, StandardOut, StandardPatch, StandardStep

router = APIRouter(tags=["standards"])


@router.get("/standards", response_model=list[StandardOut], summary="Versions of the standard")
def list_versions(principal: CurrentPrincipal, database: AppDatabase) -> list[dict[str, Any]]:
    """Every version, newest first, without items (the district's standard: every staff member
    reads it)."""
    with database.session() as db:
        return [service.version_out(db, v, detail=False)
                for v in service.list_versions(db, principal)]  # fmt: skip


@router.get("/standards/current", response_model=StandardOut, summary="The standard in force")
def current_version(principal: CurrentPrincipal, database: AppDatabase) -> dict[str, Any]:
    """The published version with its items by aspect; 409 `no-standard` before any."""
    principal.require_role(*service.READER_ROLES)
    with database.session() as db:
        return service.version_out(db, service.require_current(db))


@router.post("/standards", response_model=StandardOut, status_code=201, summary="Draft a version")
def create_version(
    body: StandardIn, principal: CurrentPrincipal, database: AppDatabase, clock: AppClock
) -> dict[str, Any]:
    """A new draft with the given items (weights summing to 100, else 422 naming `items`), or
    a copy of the version in force when `items` is left out."""
    with database.transaction() as db:
        version = service.create_version(db=db, principal=principal, data=body, now=clock.now())
        return service.version_out(db, version)


@router.get("/standards/{version_id}", response_model=StandardOut, summary="One version")
def read_version(version_id: int, principal: CurrentPrincipal, database: AppDatabase) -> Any:
    with database.session() as db:
        return service.version_out(db, service.get_version(db, principal, version_id))


@router.patch("/standards/{version_id}", response_model=StandardOut, summary="Change a draft")
def edit_version(
    version_id: int, body: StandardPatch, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """Title, note or the whole item list of a draft; a published version is 409."""
    with database.transaction() as db:
        version = service.get_version(db, principal, version_id)
        service.edit_version(db=db, principal=principal, version=version, data=body,
                             now=clock.now())  # fmt: skip
        return service.version_out(db, version)


@router.post(
    "/standards/{version_id}/publish", response_model=StandardOut, summary="Publish a draft"
)
def publish_version(
    version_id: int, body: StandardStep, principal: CurrentPrincipal, database: AppDatabase,
    clock: AppClock,
) -> dict[str, Any]:  # fmt: skip
    """The draft becomes the version in force; the one before is superseded."""
    with database.transaction() as db:
        version = service.get_version(db, principal, version_id)
        service.publish_version(db=db, principal=principal, version=version,
                                expected=body.version, now=clock.now())  # fmt: skip
        return service.version_out(db, version)

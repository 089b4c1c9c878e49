"""Liveness and readiness: the database answers and its schema is at the newest migration, and
the process is not draining (once it is, the load balancer must stop sending it requests)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from fengqiao import drain
from fengqiao.db import Database
from fengqiao.deps import get_database
from fengqiao.migrate import current_revision, head_revision, is_known_revision

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz(database: Annotated[Database, Depends(get_database)]) -> JSONResponse:
    """200 when the database is reachable and its migrations are current (or ahead: a newer
    release migrated it), else 503 saying why; 503 `draining` at once, without asking the
    database, once this process is draining."""
    if drain.draining():
        return JSONResponse({"status": "draining"}, status_code=503)

    def check() -> dict[str, Any]:
        try:
            current = current_revision(database.engine)
        except Exception as exc:  # any driver error means "not reachable"
            return {"status": "error", "database": "unreachable", "error": type(exc).__name__}
        head = head_revision()
        # A database a newer release has migrated (a rolling upgrade: `db upgrade` first, then
        # the instances one by one) still serves this one; migrations keep the previous
        # release working (docs/scaling.md). Behind: this release needs migrations.
        ahead = current is not None and current != head and not is_known_revision(current)
        ok = current == head or ahead
        return {
            "status": "ok" if ok else "error",
            "database": "ok",
            "migrations": "ahead" if ahead else "current" if ok else "behind",
            "revision": current,
            "head": head,
        }

    body = await run_in_threadpool(check)
    return JSONResponse(body, status_code=200 if body["status"] == "ok" else 503)

"""Writing and reading the personal-data access log (one insert per request)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import cast

from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from fengqiao.logs import UnmaskedAccess
from fengqiao.ops.models import PersonalDataAccess

__all__ = ["AccessFilter", "PersonalDataAccess", "read", "record"]

_TABLE = cast(Table, PersonalDataAccess.__table__)


def record(
    db: Session, access: UnmaskedAccess, *, at: datetime, request_id: str, method: str, route: str
) -> int:
    """Write what one request served whole: one statement, a row per subject table."""
    if access.user_id is None or not access.subjects:
        return 0
    rows = [
        {
            "at": at,
            "user_id": access.user_id,
            "username": access.username[:64],
            "request_id": request_id,
            "method": method[:8],
            "route": route[:200],
            "subject_table": table[:32],
            "subject_ids": "," + ",".join(str(i) for i in sorted(ids)) + ",",
            "subject_count": len(ids),
            "fields": ",".join(sorted(fields))[:200],
        }
        for table, (ids, fields) in sorted(access.subjects.items())
    ]
    db.execute(insert(_TABLE), rows)
    return len(rows)


@dataclass(frozen=True)
class AccessFilter:
    """What to read: by viewer, by subject (table and optionally a row id), by time."""

    username: str | None = None
    subject_table: str | None = None
    subject_id: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100


def read(db: Session, wanted: AccessFilter) -> list[PersonalDataAccess]:
    """Rows matching `wanted`, newest first (page on with `before_id`)."""
    query = select(PersonalDataAccess).order_by(PersonalDataAccess.id.desc()).limit(wanted.limit)
    if wanted.username is not None:
        query = query.where(PersonalDataAccess.username == wanted.username)
    if wanted.subject_table is not None:
        query = query.where(PersonalDataAccess.subject_table == wanted.subject_table)
    if wanted.subject_id is not None:
        query = query.where(PersonalDataAccess.subject_ids.contains(f",{wanted.subject_id},"))
    if wanted.since is not None:
        query = query.where(PersonalDataAccess.at >= wanted.since)
    if wanted.until is not None:
        query = query.where(PersonalDataAccess.at < wanted.until)
    if wanted.before_id is not None:
        query = query.where(PersonalDataAccess.id < wanted.before_id)
    return list(db.scalars(query))

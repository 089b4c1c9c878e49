"""Patrol domain functions: who may follow whom, start and stop patrols, list them. Taking in
positions is in `positions.py`, reading tracks and where workers are now in `whereabouts.py`.
They flush or execute, never commit: the view owns the transaction."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    func,
    select,
    update,
)
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ
from fengqiao.errors import (
    Problem,
    forbidden,
    not_found,
)
from fengqiao.geo.schemas import PlaceRef
from fengqiao.org.models import OrgUnit
from fengqiao.patrol import tracks
from fengqiao.patrol.models import Patrol
from fengqiao.patrol.positions import PATROL, hot_statements, patrol_points, write_totals
from fengqiao.patrol.schemas import (
    PatrolOut,
    PersonRef,
)
from fengqiao.scope import Principal, mask_phone, served_whole

# Who sends positions and walks patrols.
REPORTER_ROLES = ("grid_worker", "grid_leader")
# Who sees other workers' patrols, tracks and positions (within their scope); a grid worker
# sees only their own.
VIEWER_ROLES = ("operator", "leader", "grid_leader", "admin")
READER_ROLES = ("grid_worker", *VIEWER_ROLES)
# Who sees workers' phone numbers whole: the command room calls the nearest worker.
PHONE_ROLES = ("operator", "leader", "admin")


# --- who may ------------------------------------------------------------------------------


def require_reporter(principal: Principal) -> None:
    """Only grid workers and grid leaders send positions and walk patrols."""
    if not principal.has_any(*REPORTER_ROLES):
        raise forbidden(
            "only grid workers and grid leaders send positions and patrol",
            "只有网格员和网格长可以上报位置和巡查",
        )


def require_reader(principal: Principal) -> None:
    principal.require_role(*READER_ROLES)


def people_scope(principal: Principal, path: Any, user_id: Any) -> ColumnElement[bool]:
    """Rows of the workers `principal` may follow: everyone whose home lies in the caller's
    subtree for the viewer roles, only the caller otherwise."""
    if principal.has_any(*VIEWER_ROLES):
        clause: ColumnElement[bool] = path.startswith(principal.home_path, autoescape=True)
        return clause
    mine: ColumnElement[bool] = user_id == principal.user_id
    return mine


def shown_phone(phone: str | None, principal: Principal, user_id: int = 0) -> str | None:
    """The number whole for the roles that call workers (noted for the personal-data access
    log under the worker's `user_id`), masked for everyone else."""
    if phone is not None and principal.has_any(*PHONE_ROLES):
        if user_id:
            served_whole(principal, "user_account", user_id, "phone")
        return phone
    return mask_phone(phone, principal)


def tel_link(phone: str | None, principal: Principal) -> str | None:
    if phone is None or not principal.has_any(*PHONE_ROLES):
        return None
    return "tel:" + phone.replace(" ", "")


def visible_user(db: Session, principal: Principal, user_id: int) -> Row[int, str, str | None, str]:
    """(id, name, phone, path) of a worker the caller may follow; 404 as if absent otherwise."""
    row = db.execute(
        select(User.id, User.name, User.phone, OrgUnit.path)
        .join(OrgUnit, OrgUnit.id == User.home_org_id)
        .where(User.id == user_id, people_scope(principal, OrgUnit.path, User.id))
    ).first()
    if row is None:
        raise not_found("user", "该人员")
    return row


# --- days --------------------------------------------------------------------------------


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The UTC instants a local day (Asia/Shanghai) starts and ends."""
    start = datetime.combine(day, time(0), LOCAL_TZ)
    return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


def local_day(at: datetime) -> date:
    return at.astimezone(LOCAL_TZ).date()


# --- patrols ------------------------------------------------------------------------------


def open_patrol(*, db: Session, user_id: int) -> Patrol | None:
    """The worker's open patrol, if any."""
    return db.scalars(
        select(Patrol).where(Patrol.user_id == user_id, Patrol.ended_at.is_(None))
    ).first()


def start_patrol(*, db: Session, principal: Principal, now: datetime) -> tuple[Patrol, bool]:
    """The caller's open patrol, started now unless one is open already; (patrol, created)."""
    require_reporter(principal)
    created_id = db.connection().execute(
        hot_statements(db).start,
        {
            "user_id": principal.user_id, "home_path": principal.home_path, "started_at": now,
            "ended_at": None, "distance_m": 0.0, "duration_s": 0, "points": 0, "grids": [],
        },
    ).scalar()  # fmt: skip
    patrol = open_patrol(db=db, user_id=principal.user_id)
    assert patrol is not None  # just inserted, or the one that made the insert a no-op
    return patrol, created_id is not None


def stop_patrol(*, db: Session, principal: Principal, now: datetime) -> Patrol:
    """Close the caller's open patrol now, its totals counted again from its stored points;
    409 when none is open."""
    require_reporter(principal)
    patrol = db.scalars(
        select(Patrol)
        .where(Patrol.user_id == principal.user_id, Patrol.ended_at.is_(None))
        .with_for_update()
    ).first()
    if patrol is None:
        raise Problem(
            409, "no-open-patrol", "No open patrol", "当前没有进行中的巡查",
            "there is no open patrol to stop: start one first",
            "没有可结束的巡查，请先开始巡查",
        )  # fmt: skip
    connection = db.connection()
    state = tracks.summarise(
        patrol_points(connection, patrol.id, patrol.user_id, patrol.started_at)
    )
    ended_at = max(now, patrol.started_at)
    write_totals(connection, patrol.id, patrol.started_at, ended_at, state)
    connection.execute(update(PATROL).where(PATROL.c.id == patrol.id).values(ended_at=ended_at))
    db.expire(patrol)
    db.refresh(patrol)
    return patrol


def grid_refs(db: Session, ids: Iterable[int]) -> dict[int, PlaceRef]:
    wanted = set(ids)
    if not wanted:
        return {}
    rows = db.execute(select(OrgUnit.id, OrgUnit.code, OrgUnit.name).where(OrgUnit.id.in_(wanted)))
    return {r.id: PlaceRef(id=r.id, code=r.code, name=r.name) for r in rows}


def patrol_outs(db: Session, patrols: Sequence[Any], names: dict[int, str]) -> list[PatrolOut]:
    """Patrols (ORM objects or rows) as the API shows them, grid names read in one query."""
    refs = grid_refs(db, (g for p in patrols for g in (p.grids or ())))
    return [
        PatrolOut(
            id=p.id,
            user=PersonRef(id=p.user_id, name=names.get(p.user_id, "")),
            started_at=p.started_at,
            ended_at=p.ended_at,
            open=p.ended_at is None,
            distance_m=round(p.distance_m, 1),
            duration_s=p.duration_s,
            points=p.points,
            grids=[refs[g] for g in (p.grids or ()) if g in refs],
        )
        for p in patrols
    ]


def list_patrols(
    *,
    db: Session,
    principal: Principal,
    user_id: int | None,
    day: date | None,
    path: str,
    offset: int,
    limit: int,
) -> tuple[int, list[PatrolOut]]:
    """Patrols of the workers the caller may follow, newest first."""
    require_reader(principal)
    where = [
        people_scope(principal, Patrol.home_path, Patrol.user_id),
        Patrol.home_path.startswith(path, autoescape=True),
    ]
    if user_id is not None:
        where.append(Patrol.user_id == user_id)
    if day is not None:
        start, end = day_bounds(day)
        where += [Patrol.started_at >= start, Patrol.started_at < end]
    total = db.scalar(select(func.count()).select_from(Patrol).where(*where)) or 0
    rows = list(
        db.scalars(
            select(Patrol).where(*where).order_by(Patrol.started_at.desc(), Patrol.id.desc())
            .offset(offset).limit(limit)
        )
    )  # fmt: skip
    names = {
        r.id: r.name
        for r in db.execute(
            select(User.id, User.name).where(User.id.in_({p.user_id for p in rows}))
        )
    }
    return total, patrol_outs(db, rows, names)

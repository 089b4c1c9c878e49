"""Who sees which proxy requests (代办), and how much of the resident: the caller's viewer (their
grids), the scope clause of lists, the read check of one request, and masking.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import ColumnElement, false, or_, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment
from fengqiao.catalogue.models import ProxyRequest
from fengqiao.errors import forbidden, not_found
from fengqiao.events.scope import area_clause, home_ids, in_towns
from fengqiao.scope import Principal

# Roles that may open the proxy-request list at all; everyone else gets 403.
READER_ROLES = ("grid_worker", "grid_leader", "operator", "leader", "admin", "resident")
WORKER_ROLES = ("grid_worker", "grid_leader")
AREA_ROLES = ("operator", "leader", "admin")
PERSONAL_ROLES = ("operator", "admin")  # see names, phones and ID numbers unmasked


# --- masking -------------------------------------------------------------------------------------


def mask_name(name: str) -> str:
    """王*明, 张*: the first and (for three or more characters) the last character."""
    if len(name) <= 1:
        return name
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def mask_phone_number(phone: str) -> str:
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def mask_id_number(value: str) -> str:
    return value[:6] + "*" * (len(value) - 10) + value[-4:] if len(value) > 10 else "*" * len(value)


# --- who sees what ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Viewer:
    """The caller plus the grids they serve, read once per request."""

    principal: Principal
    grids: frozenset[int] = field(default_factory=frozenset)

    @property
    def is_worker(self) -> bool:
        return self.principal.has_any(*WORKER_ROLES)

    @property
    def is_area(self) -> bool:
        return self.principal.has_any(*AREA_ROLES)


def viewer(db: Session, principal: Principal) -> Viewer:
    grids: frozenset[int] = frozenset()
    if principal.has_any(*WORKER_ROLES):
        grids = frozenset(
            db.scalars(
                select(GridAssignment.grid_id).where(GridAssignment.user_id == principal.user_id)
            )
        )
    return Viewer(principal, grids)


def require_reader(principal: Principal) -> None:
    if not principal.has_any(*READER_ROLES):
        raise forbidden(
            "proxy requests are for grid workers, operators, leaders and residents",
            "代办事项仅对网格员、指挥室、领导和群众开放",
        )


_DEPTH_COLUMN = {2: ProxyRequest.town_id, 3: ProxyRequest.village_id, 4: ProxyRequest.grid_id}


def scope_clause(view: Viewer) -> ColumnElement[bool]:
    """A WHERE clause admitting exactly the proxy requests the caller may read."""
    principal = view.principal
    clauses: list[ColumnElement[bool]] = [
        ProxyRequest.resident_user_id == principal.user_id,
        ProxyRequest.created_by == principal.user_id,
        ProxyRequest.worker_id == principal.user_id,
    ]
    if view.grids:
        clauses.append(ProxyRequest.grid_id.in_(sorted(view.grids)))
    if view.is_area:
        ids = home_ids(principal)
        if len(ids) <= 1:
            return area_clause(principal, ProxyRequest.town_id)
        column = _DEPTH_COLUMN.get(len(ids))
        clauses.append(column == ids[-1] if column is not None else false())
    return or_(*clauses)


def may_read(view: Viewer, request: ProxyRequest) -> bool:
    principal = view.principal
    if principal.user_id in (request.resident_user_id, request.created_by, request.worker_id):
        return True
    if request.grid_id in view.grids:
        return True
    if view.is_area:
        ids = home_ids(principal)
        if len(ids) <= 1:
            return in_towns(principal, request.town_id)
        own = {2: request.town_id, 3: request.village_id, 4: request.grid_id}.get(len(ids))
        return own == ids[-1]
    return False


def get_proxy(*, db: Session, view: Viewer, request_id: int, lock: bool = False) -> ProxyRequest:
    """A proxy request the caller may read; 404 otherwise (ids are not secrets, contents are)."""
    query = select(ProxyRequest).where(ProxyRequest.id == request_id)
    if lock:
        query = query.with_for_update()
    request = db.scalar(query)
    if request is None or not may_read(view, request):
        raise not_found("proxy request", "代办事项")
    return request


def sees_personal(view: Viewer, request: ProxyRequest) -> bool:
    """Whether the caller sees the resident's name, phone and ID number whole (in a detail)."""
    principal = view.principal
    return (
        principal.has_any(*PERSONAL_ROLES)
        or principal.user_id in (request.resident_user_id, request.worker_id)
        or (request.status == "requested" and request.grid_id in view.grids)
    )

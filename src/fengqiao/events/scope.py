"""Which events a caller may read: the one place event reads are filtered.

Staff see the events of their org subtree. The subtree is read from the depth of the caller's
home path below the district (/district/town/village/grid/, after any /province/city/ above it)
and becomes an equality on the event's denormalised town, village or grid column, which the list
indexes serve (a path prefix match would not). A home at or above the district that shares the
database with other districts is limited to the towns of its subtree (`Principal.towns`).
Handlers and unit heads (no area role) see their unit's events and the ones they acted on,
wherever their unit sits. Residents and devices see only what they reported themselves.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, select, true

from fengqiao.events.models import Event, EventLog, EventPart
from fengqiao.scope import STAFF_ROLES, Principal

# Column of the event that holds the org unit at each depth of a home path.
_DEPTH_COLUMN = {2: "town_id", 3: "village_id", 4: "grid_id"}
# Roles that work for a responsible unit rather than an area: with no other staff role, a
# caller holding only these sees their unit's events, not the area their unit sits in.
UNIT_ROLES = frozenset({"handler", "unit_leader"})


def home_ids(principal: Principal) -> list[int]:
    """The org ids of the caller's home path from the district down (none for a city or province)."""
    ids = [int(part) for part in principal.home_path.strip("/").split("/") if part]
    return ids[principal.above_district :]


def area_clause(principal: Principal, town_column: Any) -> ColumnElement[bool]:
    """For a home at or above the district: every row (the whole tree), or the rows of its towns."""
    if principal.towns is None:
        return true()
    return town_column.in_(sorted(principal.towns)) if principal.towns else false()


def in_towns(principal: Principal, town_id: int | None) -> bool:
    """`area_clause` for one row in hand."""
    return principal.towns is None or town_id in principal.towns


def is_staff(principal: Principal) -> bool:
    return not principal.roles.isdisjoint(STAFF_ROLES)


def unit_scoped(principal: Principal) -> bool:
    """True for a handler or unit head without an area role: their reads follow their unit."""
    return bool(principal.roles) and principal.roles <= UNIT_ROLES


def sees_whole_district(principal: Principal) -> bool:
    """True for area staff homed at the district (or above): every area's rows are theirs."""
    return (
        is_staff(principal)
        and not unit_scoped(principal)
        and len(home_ids(principal)) <= 1
        and principal.towns is None
    )


def acted_on(principal: Principal) -> ColumnElement[bool]:
    """Events on whose trail the caller took a step (an index on event_log(actor_id) serves it)."""
    return Event.id.in_(select(EventLog.event_id).where(EventLog.actor_id == principal.user_id))


def assisted(principal: Principal) -> ColumnElement[bool]:
    """Events the caller's unit assists (协办; an index on event_part(unit_id, status) serves it)."""
    return Event.id.in_(
        select(EventPart.event_id).where(EventPart.unit_id == (principal.unit_id or -1))
    )


def event_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause admitting exactly the events `principal` may read."""
    if not is_staff(principal):
        return Event.reporter_id == principal.user_id
    if unit_scoped(principal):
        return or_(
            Event.owner_unit_id == (principal.unit_id or -1),
            assisted(principal),
            acted_on(principal),
        )
    ids = home_ids(principal)
    if len(ids) <= 1:
        return area_clause(principal, Event.town_id)
    column = _DEPTH_COLUMN.get(len(ids))
    if column is None:
        return false()
    clause: ColumnElement[bool] = getattr(Event, column) == ids[-1]
    return clause


def scope_district(principal: Principal) -> int | None:
    """The district every event `event_scope` admits lies in, when the scope says: area staff
    homed at or below a district (the first id of the home path from the district down). None
    for residents, unit-scoped callers (their unit's events, wherever filed) and homes above
    the district. A list adds it as `district_id = ?` (the shard key: one district's rows)."""
    if not is_staff(principal) or unit_scoped(principal):
        return None
    ids = home_ids(principal)
    return ids[0] if ids else None


def may_read(
    principal: Principal,
    *,
    reporter_id: int,
    town_id: int,
    village_id: int,
    grid_id: int,
    owner_unit_id: int | None = None,
) -> bool:
    """The same rule as `event_scope`, for one event already in hand (for a unit-scoped caller
    only their unit's: whether they acted on it needs the trail, see `events.service`)."""
    if principal.user_id == reporter_id:
        return True
    if not is_staff(principal):
        return False
    if unit_scoped(principal):
        return principal.unit_id is not None and principal.unit_id == owner_unit_id
    ids = home_ids(principal)
    if len(ids) <= 1:
        return in_towns(principal, town_id)
    return {2: town_id, 3: village_id, 4: grid_id}.get(len(ids)) == ids[-1]

"""Which events a caller may read: the one place event reads are filtered.

Staff see the events of their org subtree. The subtree is read from the depth of the caller's
home path (/district/town/village/grid/) and becomes an equality on the event's denormalised
town, village or grid column, which the list indexes serve (a path prefix match would not).
Residents and devices see only what they reported themselves.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, false, true

from fengqiao.auth.scope import STAFF_ROLES, Principal
from fengqiao.events.models import Event

# Column of the event that holds the org unit at each depth of a home path.
_DEPTH_COLUMN = {2: "town_id", 3: "village_id", 4: "grid_id"}


def home_ids(principal: Principal) -> list[int]:
    """The org ids of the caller's home path, district first."""
    return [int(part) for part in principal.home_path.strip("/").split("/") if part]


def is_staff(principal: Principal) -> bool:
    return not principal.roles.isdisjoint(STAFF_ROLES)


def event_scope(principal: Principal) -> ColumnElement[bool]:
    """A WHERE clause admitting exactly the events `principal` may read."""
    if not is_staff(principal):
        return Event.reporter_id == principal.user_id
    ids = home_ids(principal)
    if len(ids) <= 1:
        return true()
    column = _DEPTH_COLUMN.get(len(ids))
    if column is None:
        return false()
    clause: ColumnElement[bool] = getattr(Event, column) == ids[-1]
    return clause


def may_read(
    principal: Principal, *, reporter_id: int, town_id: int, village_id: int, grid_id: int
) -> bool:
    """The same rule as `event_scope`, for one event already in hand."""
    if principal.user_id == reporter_id:
        return True
    if not is_staff(principal):
        return False
    ids = home_ids(principal)
    if len(ids) <= 1:
        return True
    return {2: town_id, 3: village_id, 4: grid_id}.get(len(ids)) == ids[-1]


def grid_path(*, district_id: int, town_id: int, village_id: int, grid_id: int) -> str:
    """The materialised path of an event's grid, as `Principal.covers` expects it."""
    return f"/{district_id}/{town_id}/{village_id}/{grid_id}/"

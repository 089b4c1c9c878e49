"""Who is asking, and what they may see: the one place reads are filtered to a caller's scope.

A principal's scope is the subtree of its home org unit, written as the unit's materialised
path ("/1/5/"); a row is in scope when its path starts with that prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, literal, or_
from sqlalchemy.orm import InstrumentedAttribute

from fengqiao.errors import forbidden
from fengqiao.logs import note_unmasked

STAFF_ROLES = frozenset(
    {"grid_worker", "grid_leader", "operator", "handler", "unit_leader", "leader", "admin"}
)
# Roles that see people's phone numbers unmasked.
PERSONAL_DATA_ROLES = frozenset({"admin", "operator"})

# The roles a principal may hold (an account's roles are rows of auth's user_role), and their
# words: a refusal names the roles it needs in them.
ROLES = (
    "grid_worker",
    "grid_leader",
    "operator",
    "handler",
    "unit_leader",  # heads a responsible unit: told when its events run overdue
    "leader",
    "admin",
    "resident",
    "device",
)
ROLE_ZH = {
    "grid_worker": "网格员", "grid_leader": "网格长", "operator": "指挥室坐席",
    "handler": "处置人员", "unit_leader": "单位负责人", "leader": "领导", "admin": "管理员",
    "resident": "群众", "device": "设备",
}  # fmt: skip


@dataclass(frozen=True)
class Principal:
    """An authenticated user or machine as the request sees it."""

    user_id: int
    username: str
    name: str
    roles: frozenset[str]
    home_org_id: int
    home_path: str
    unit_id: int | None = None
    # Path segments above the district in the home path: 0 in a district-only tree, 2 when the
    # province and city sit above it ("/province/city/district/...").
    above_district: int = 0
    # For a home at or above the district that is not the whole database (another district, city
    # or province shares it): the towns of the home's subtree, which rows keyed by town are
    # filtered on. None: no such restriction (the home is the whole tree, or below the district).
    towns: frozenset[int] | None = None

    def has_any(self, *roles: str) -> bool:
        return not self.roles.isdisjoint(roles)

    def is_staff(self) -> bool:
        """True for the roles that work with events and the map (not residents or devices)."""
        return self.has_any(*STAFF_ROLES)

    def covers(self, path: str) -> bool:
        """True when the unit at `path` lies in this principal's subtree."""
        return path.startswith(self.home_path)

    def require_role(self, *roles: str) -> None:
        if not self.has_any(*roles):
            raise forbidden(
                f"this needs one of the roles: {', '.join(roles)}",
                f"需要以下角色之一：{'、'.join(ROLE_ZH.get(role, role) for role in roles)}",
            )

    def require_covers(self, path: str) -> None:
        if not self.covers(path):
            raise forbidden(
                "outside your scope: you may only read your own area",
                "超出您的管辖范围：只能查看本辖区的数据",
            )


def in_scope(
    principal: Principal,
    path: InstrumentedAttribute[str] | ColumnElement[str],
    *,
    with_ancestors: bool = False,
) -> ColumnElement[bool]:
    """A WHERE clause: rows whose org path is in the principal's subtree.

    `with_ancestors` also admits the units above the principal (a grid worker may look up the
    agencies of their town and the district departments, which sit above their grid).
    """
    inside = path.startswith(principal.home_path, autoescape=True)
    if not with_ancestors:
        return inside
    return or_(inside, literal(principal.home_path).startswith(path))


def mask_phone(
    phone: str | None,
    principal: Principal,
    *,
    subject: tuple[str, int] | None = None,
    field: str = "phone",
) -> str | None:
    """A phone number as this principal may see it: whole for roles that need it, else masked.

    `subject` (table, row id) names whose number it is: a number served whole is noted for the
    request's personal-data access log (DESIGN §13), written once per request by the middleware.
    """
    if phone is None:
        return phone
    if principal.has_any(*PERSONAL_DATA_ROLES):
        if subject is not None:
            served_whole(principal, subject[0], subject[1], field)
        return phone
    if len(phone) <= 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]


def served_whole(principal: Principal, table: str, subject_id: int, *fields: str) -> None:
    """Note that `principal` is being served `fields` of row `subject_id` of `table` unmasked
    (for callers that decide the masking themselves); the request's middleware logs it."""
    note_unmasked(
        user_id=principal.user_id, username=principal.username, table=table,
        subject_id=subject_id, fields=fields,
    )  # fmt: skip


def note_if_whole(
    principal: Principal, table: str, subject_id: int, **shown_and_stored: tuple[Any, Any]
) -> None:
    """Note the fields whose shown value is the stored one (not masked) for the access log:
    `resident_phone=(shown, stored)`; empty values are not personal data served."""
    fields = tuple(
        name for name, (shown, stored) in shown_and_stored.items() if stored and shown == stored
    )
    if fields:
        served_whole(principal, table, subject_id, *fields)

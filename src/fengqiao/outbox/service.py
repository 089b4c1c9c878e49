"""Queueing messages: every outbound message is an outbox row written in the transaction of the
change that causes it; the sender (notify/sender.py) delivers it later with retries."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, column, select, table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.logs import current_request_id
from fengqiao.org.districts import district_ids
from fengqiao.org.models import OrgUnit, Unit
from fengqiao.outbox.models import Outbox

_OUTBOX = cast(Table, Outbox.__table__)
# The events table seen from below it (the outbox sits under events): the district of a row.
_EVENT = table("event", column("id"), column("district_id"))


@dataclass(frozen=True)
class Person:
    """Someone a message can reach, by whichever addresses they have."""

    user_id: int | None
    name: str
    phone: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Draft:
    """One message to one address, before it is queued."""

    channel: str
    recipient: str
    user_id: int | None
    template: str
    payload: dict[str, Any]
    dedupe_key: str
    event_id: int | None = None


def drafts_for(
    people: Iterable[Person],
    *,
    channels: Iterable[str],
    template: str,
    payload: dict[str, Any],
    key: str,
    event_id: int | None = None,
) -> list[Draft]:
    """A message per person and channel they can be reached on; one per address, however many
    people share it (a duty phone), keyed `<key>:<channel>:<recipient>`."""
    drafts: dict[tuple[str, str], Draft] = {}
    for person in people:
        for channel in channels:
            if channel == "app":
                address = str(person.user_id) if person.user_id is not None else None
            elif channel == "sms":
                address = person.phone
            elif channel == "email":
                address = person.email
            else:
                address = str(person.user_id) if person.user_id is not None else person.name
            if not address or (channel, address) in drafts:
                continue
            drafts[(channel, address)] = Draft(
                channel=channel,
                recipient=address,
                user_id=person.user_id,
                template=template,
                payload=payload,
                dedupe_key=f"{key}:{channel}:{address}",
                event_id=event_id,
            )
    return list(drafts.values())


def enqueue(db: Session, drafts: Iterable[Draft], *, now: datetime) -> int:
    """Queue the drafts in the caller's transaction; a draft whose dedupe key is already queued
    is dropped by the database. Returns how many rows were added."""
    request_id = current_request_id()
    drafts = list(drafts)
    districts = _districts(db, drafts)
    rows = [
        {
            "channel": d.channel,
            "recipient": d.recipient,
            "user_id": d.user_id,
            "template": d.template,
            "payload": d.payload,
            "dedupe_key": d.dedupe_key,
            "event_id": d.event_id,
            "district_id": districts.get((d.event_id, d.user_id)),
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            "request_id": request_id,
        }
        for d in drafts
    ]
    if not rows:
        return 0
    dialect = db.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(_OUTBOX).on_conflict_do_nothing(index_elements=["dedupe_key"])
    result = db.connection().execute(statement.returning(_OUTBOX.c.id), rows)
    return len(result.all())


def _districts(db: Session, drafts: list[Draft]) -> dict[tuple[Any, Any], int | None]:
    """The district of each draft: its event's, else its recipient's home district (none for a
    message to an address alone); read in at most two queries."""
    events = {d.event_id for d in drafts if d.event_id is not None}
    users = {d.user_id for d in drafts if d.event_id is None and d.user_id is not None}
    of_event: dict[int, int | None] = {}
    homes: dict[int, int | None] = {}
    with db.no_autoflush:
        if events:
            found = db.execute(
                select(_EVENT.c.id, _EVENT.c.district_id).where(_EVENT.c.id.in_(events))
            )
            of_event = {row.id: row.district_id for row in found}
        if users:
            people = db.execute(select(User.id, User.home_org_id).where(User.id.in_(users)))
            homes = {row.id: row.home_org_id for row in people}
    places = district_ids(db, homes.values())
    return {
        (d.event_id, d.user_id): of_event.get(d.event_id)
        if d.event_id is not None
        else places.get(homes.get(d.user_id or 0) or 0)
        for d in drafts
    }


# --- who is told -------------------------------------------------------------------------------


class Directory:
    """Who to tell, and the names messages use, read once per transaction.

    A sweeper batch tells the same units and towns over and over; each lookup is cached here,
    and read without autoflushing the events the batch is changing.
    """

    def __init__(self, db: Session) -> None:
        self.db = db
        self._people: dict[tuple[Any, ...], list[Person]] = {}
        self._units: dict[int, Unit | None] = {}
        self._orgs: dict[int, str] = {}
        self._roles: dict[int, frozenset[str]] = {}

    def _query(self, key: tuple[Any, ...], *conditions: Any) -> list[Person]:
        if key not in self._people:
            with self.db.no_autoflush:
                rows = self.db.execute(
                    select(User.id, User.name, User.phone, User.email)
                    .join(UserRole, UserRole.user_id == User.id)
                    .where(User.is_active.is_(True), *conditions)
                    .order_by(User.id)
                    .distinct()
                )
                self._people[key] = [Person(r.id, r.name, r.phone, r.email) for r in rows]
        return list(self._people[key])

    def prefetch(self, unit_ids: Iterable[int], org_ids: Iterable[int]) -> None:
        """Read the handlers, heads and names of many units and places in three queries."""
        units = {u for u in unit_ids if u is not None} - self._units.keys()
        with self.db.no_autoflush:
            if units:
                for unit in self.db.scalars(select(Unit).where(Unit.id.in_(units))):
                    self._units[unit.id] = unit
                for role in ("handler", "unit_leader"):
                    found: dict[int, list[Person]] = {u: [] for u in units}
                    rows = self.db.execute(
                        select(User.id, User.name, User.phone, User.email, User.unit_id)
                        .join(UserRole, UserRole.user_id == User.id)
                        .where(
                            User.is_active.is_(True),
                            User.unit_id.in_(units),
                            UserRole.role == role,
                        )
                        .order_by(User.id)
                    )
                    for r in rows:
                        found[r.unit_id].append(Person(r.id, r.name, r.phone, r.email))
                    for unit_id, people in found.items():
                        self._people[(role, unit_id)] = people
        self.org_names(*org_ids)

    def unit(self, unit_id: int) -> Unit | None:
        if unit_id not in self._units:
            with self.db.no_autoflush:
                self._units[unit_id] = self.db.get(Unit, unit_id)
        return self._units[unit_id]

    def unit_handlers(self, unit_id: int) -> list[Person]:
        """The unit's handlers, and its duty phone."""
        people = self._query(
            ("handler", unit_id), User.unit_id == unit_id, UserRole.role == "handler"
        )
        unit = self.unit(unit_id)
        if unit is not None and unit.duty_phone:
            people.append(Person(None, f"{unit.name}值班电话", unit.duty_phone))
        return people

    def unit_leaders(self, unit_id: int) -> list[Person]:
        """The unit's heads; a unit without one is told through its handlers."""
        leaders = self._query(
            ("unit_leader", unit_id), User.unit_id == unit_id, UserRole.role == "unit_leader"
        )
        return leaders or self._query(
            ("handler", unit_id), User.unit_id == unit_id, UserRole.role == "handler"
        )

    def org_people(self, org_id: int, role: str) -> list[Person]:
        """Holders of `role` whose home is exactly this org unit (a town's operators, say)."""
        return self._query(
            ("org", org_id, role), and_(User.home_org_id == org_id, UserRole.role == role)
        )

    def person(self, user_id: int) -> tuple[Person, frozenset[str]] | None:
        """An active user and their roles (a reporter, a dispatcher), or None."""
        key = ("user", user_id)
        if key not in self._people:
            with self.db.no_autoflush:
                rows = self.db.execute(
                    select(User.id, User.name, User.phone, User.email, UserRole.role)
                    .join(UserRole, UserRole.user_id == User.id)
                    .where(User.id == user_id, User.is_active.is_(True))
                ).all()
            self._people[key] = [Person(r.id, r.name, r.phone, r.email) for r in rows[:1]]
            self._roles[user_id] = frozenset(r.role for r in rows)
        people = self._people[key]
        return (people[0], self._roles[user_id]) if people else None

    def grid_workers(self, grid_id: int) -> list[Person]:
        """The grid workers assigned to a grid."""
        return self._query(
            ("grid", grid_id),
            User.id.in_(select(GridAssignment.user_id).where(GridAssignment.grid_id == grid_id)),
            UserRole.role == "grid_worker",
        )

    def org_names(self, *org_ids: int) -> dict[int, str]:
        missing = [i for i in org_ids if i not in self._orgs]
        if missing:
            with self.db.no_autoflush:
                self._orgs.update(
                    self.db.execute(
                        select(OrgUnit.id, OrgUnit.name).where(OrgUnit.id.in_(missing))
                    ).all()
                )
        return {i: self._orgs.get(i, "") for i in org_ids}

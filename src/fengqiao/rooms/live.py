"""Who is in which meeting now, held in this process's memory beside the call hub (whose
signalling socket carries the rooms' messages too). Touched only from the event loop, so a
check and the reservation that follows it are one step, as in calls/hub.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(eq=False)
class LiveParty:
    """A page in a meeting: its participant row, its user and its signalling socket."""

    id: int
    user_id: int
    name: str
    conn: str
    joined_at: datetime


@dataclass
class RoomHub:
    """The parties of each session under way, and seats held while a join is being stored."""

    parties: dict[int, dict[int, LiveParty]] = field(default_factory=dict)
    pending: dict[int, int] = field(default_factory=dict)

    def seats(self, session_id: int) -> int:
        return len(self.parties.get(session_id, {})) + self.pending.get(session_id, 0)

    def hold(self, session_id: int) -> None:
        self.pending[session_id] = self.pending.get(session_id, 0) + 1

    def unhold(self, session_id: int) -> None:
        left = self.pending.get(session_id, 0) - 1
        if left > 0:
            self.pending[session_id] = left
        else:
            self.pending.pop(session_id, None)

    def add(self, session_id: int, party: LiveParty) -> None:
        self.parties.setdefault(session_id, {})[party.id] = party

    def remove(self, session_id: int, party_id: int) -> LiveParty | None:
        parties = self.parties.get(session_id, {})
        party = parties.pop(party_id, None)
        if not parties:
            self.parties.pop(session_id, None)
        return party

    def by_conn(self, session_id: int, conn: str) -> LiveParty | None:
        return next((p for p in self.parties.get(session_id, {}).values() if p.conn == conn), None)

    def on_conn(self, conn: str) -> list[tuple[int, LiveParty]]:
        """Every (session, party) a socket carries."""
        return [
            (session_id, party)
            for session_id, parties in self.parties.items()
            for party in parties.values()
            if party.conn == conn
        ]

    def others(self, session_id: int, party_id: int) -> list[LiveParty]:
        return [p for p in self.parties.get(session_id, {}).values() if p.id != party_id]

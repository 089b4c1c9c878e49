"""The calls' request and answer bodies; every field bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# A page's signalling socket id (CallHub.connect); an SDP of a two-track call is 3-6 kB.
ConnId = Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
SDP_MAX = 20_000


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CallIn(Strict):
    callee_id: int = Field(ge=1, le=2**31 - 1, description="The user to ring.")
    event_id: int | None = Field(
        None, ge=1, le=2**31 - 1, description="The event the call is placed from (its trail)."
    )
    conn: str = ConnId


class ConnIn(Strict):
    conn: str = ConnId


class Candidate(Strict):
    """An ICE candidate as RTCIceCandidate.toJSON() gives it (the browser's field names)."""

    candidate: str = Field(max_length=1024)
    sdpMid: str | None = Field(None, max_length=64)
    sdpMLineIndex: int | None = Field(None, ge=0, le=64)
    usernameFragment: str | None = Field(None, max_length=256)


class SignalIn(Strict):
    conn: str = ConnId
    kind: Literal["offer", "answer", "candidate"]
    sdp: str | None = Field(None, max_length=SDP_MAX)
    candidate: Candidate | None = None


class PartyOut(BaseModel):
    id: int
    name: str


class CallOut(BaseModel):
    id: int
    state: Literal["ringing", "active", "ended"]
    caller: PartyOut
    callee: PartyOut
    event_id: int | None
    started_at: datetime
    answered_at: datetime | None = None
    outcome: str | None = None


class CallConfigOut(BaseModel):
    ice_servers: list[dict[str, Any]]
    ring_seconds: float

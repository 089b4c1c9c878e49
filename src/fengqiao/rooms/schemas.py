"""The meeting rooms' request and answer bodies; every field bounded."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from fengqiao.calls.schemas import SDP_MAX, Candidate, ConnId

# Mesh: every party sends to every other, so 8 parties is 7 up-links per browser
# (docs/video.md, "Meeting rooms (会商)").
MAX_PARTIES = 8
RowId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SessionIn(Strict):
    title: str = Field(
        min_length=1, max_length=100, pattern=r"\S", description="What the meeting is about."
    )
    invited_org_ids: list[RowId] = Field(
        default_factory=list, max_length=MAX_PARTIES - 1,
        description="The rooms (org unit ids in the opener's area) invited; at most 7.",
    )  # fmt: skip
    event_ids: list[RowId] = Field(default_factory=list, max_length=20)
    warning_ids: list[RowId] = Field(default_factory=list, max_length=20)


class ConnIn(Strict):
    conn: str = ConnId


class RoomSignalIn(Strict):
    conn: str = ConnId
    to: int = Field(ge=1, le=2**31 - 1, description="The party (participant id) it is for.")
    kind: Literal["offer", "answer", "candidate"]
    sdp: str | None = Field(None, max_length=SDP_MAX)
    candidate: Candidate | None = None


class PersonOut(BaseModel):
    id: int
    name: str


class PartyOut(BaseModel):
    id: int  # the participant row: the party's id in the session's signalling
    user: PersonOut
    joined_at: datetime
    left_at: datetime | None = None
    left_how: str | None = None


class SessionOut(BaseModel):
    id: int
    org_id: int
    room: str
    title: str
    opened_by: PersonOut
    opened_at: datetime
    closed_at: datetime | None
    invited: list[dict[str, Any]]
    event_ids: list[int]
    warning_ids: list[int]
    participants: list[PartyOut] = []
    live: list[int] = []  # the parties in the meeting now


class RoomOut(BaseModel):
    org_id: int
    kind: str
    name: str  # 区社会治理中心, 镇街指挥室, 综合信息工作室 with the place's name
    path: str
    session: SessionOut | None = None  # the session open in it, if any
    invited: bool = False  # the caller reaches it only by an invitation


class JoinOut(BaseModel):
    session: SessionOut
    me: int
    parties: list[PartyOut]
    ice_servers: list[dict[str, Any]]
    max_parties: int

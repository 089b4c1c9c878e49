"""Request and response shapes of the event API."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from fengqiao.bounds import Answers, RequestModel

Source = Literal["grid_worker", "resident", "hotline", "iot", "video", "inspection", "open311"]
SOURCES: tuple[str, ...] = Source.__args__  # type: ignore[attr-defined]
# 上报 (filed with the report), 处置前, 处置后, 核查 (the verifier's on-site photo); the older kinds
# evidence, near and far stay readable (migration 0019 relabelled what it could).
AttachmentKind = Literal["report", "before", "after", "verify", "evidence", "near", "far"]
PHOTO_KIND_ZH = {"report": "上报", "before": "处置前", "after": "处置后", "verify": "核查",
                 "evidence": "处置凭证", "near": "近景", "far": "远景"}  # fmt: skip
PhotoOrigin = Literal["camera", "album", "unknown"]


class EventCreate(RequestModel):
    """One report, from any source."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: Source
    category: str = Field(min_length=1, max_length=16, description="Class code, e.g. 0101.")
    title: str | None = Field(None, max_length=200, description="Defaults to the class name.")
    description: str = Field("", max_length=4000)
    lat: float = Field(allow_inf_nan=True)
    lng: float = Field(allow_inf_nan=True)
    crs: str = Field("wgs84", max_length=16, description="wgs84 (also CGCS2000), gcj02 or bd09.")
    address: str = Field("", max_length=200)
    level: int | None = Field(None, ge=1, le=4, description="Only staff sources may set it.")
    urgent: bool | None = Field(None, description="Only staff sources may set it.")
    contact_phone: str | None = Field(None, max_length=32)
    notify_sms: bool = Field(
        False,
        description="Also tell the reporter by text message at each public step (the app inbox "
        "is always told); residents choose it when they file.",
    )
    answers: Answers = Field(
        default_factory=dict,
        description="Answers to the class's extra questions (GET /api/v1/intake/classes), by "
        "question code; a list for multiple choice.",
    )

    @field_validator("crs")
    @classmethod
    def _lower(cls, value: str) -> str:
        return value.lower()

    @field_validator("answers", mode="before")
    @classmethod
    def _answers_from_form(cls, value: Any) -> Any:
        # A multipart form (a report with photos) carries the answers as one JSON text.
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else {}
            except ValueError:
                raise ValueError("answers must be a JSON object of question codes") from None
        return value


class Ref(BaseModel):
    id: int
    code: str | None = None
    name: str


class AttachmentOut(BaseModel):
    id: int
    kind: str
    sha256: str
    mime: str
    bytes: int
    width: int
    height: int
    taken_at: datetime | None = Field(description="When it was taken, from its EXIF.")
    lat: float | None = Field(description="Where it was taken, from its EXIF (WGS-84).")
    lng: float | None
    origin: PhotoOrigin = Field("unknown", description="camera, album, or unknown (not said).")
    device_lat: float | None = Field(None, description="The phone's position at upload.")
    device_lng: float | None = None
    device_accuracy: float | None = Field(None, description="... its accuracy in metres.")
    device_at: datetime | None = Field(None, description="... the time of that position fix.")
    url: str
    public: bool = Field(False, description="Staff marked it 公开给上报人.")


class PhotoPublicIn(RequestModel):
    """公开给上报人: show a photo to the reporter (and on the public map), or stop showing it."""

    model_config = ConfigDict(extra="forbid")

    public: bool
    version: int = Field(ge=1, description="The event's version you read; stale is refused (409).")


class PhotoPublicOut(BaseModel):
    id: int
    public: bool
    version: int = Field(description="The event's version after the change.")


class TrailRow(BaseModel):
    seq: int
    at: datetime
    actor: Ref | None
    action: str
    from_status: str | None
    to_status: str
    unit_id: int | None
    note: str
    payload: dict[str, Any]
    hash: str


class DuplicateOut(BaseModel):
    id: int
    code: str
    title: str
    status: str
    distance_m: float
    created_at: datetime


class EventOut(BaseModel):
    id: int
    code: str
    title: str
    description: str
    category: str
    category_name: str
    major_code: str
    major_name: str
    platform: str
    level: int
    urgent: bool
    source: str
    reporter_id: int
    contact_phone: str | None
    lat: float
    lng: float
    address: str
    grid: Ref
    village: Ref
    town: Ref
    # The town's district and the district's city (none in a tree without cities).
    district: Ref | None = None
    city: Ref | None = None
    status: str
    light: str | None
    pending_action: str | None
    owner_unit: Ref | None
    proposed_unit: Ref | None
    routing_state: str
    routing_rule_id: int | None
    due_at: datetime | None
    yellow_at: datetime | None
    remind_at: datetime | None
    reminded_at: datetime | None = None
    overdue_at: datetime | None = None
    escalation_rung: int = 0  # 0 unit, 1 coordination group, 2 town leaders, 3 district
    escalation_rung_name: str = "责任单位"
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    dispatched_at: datetime | None
    signed_at: datetime | None
    handled_at: datetime | None
    closed_at: datetime | None
    paused_seconds: float
    rework_count: int
    return_count: int
    duplicate_of_id: int | None
    satisfaction: int | None
    result: str | None
    version: int
    actions: list[str] = Field(description="What the caller may do now.")
    supervised: bool = Field(False, description="An open supervision order (督办) waits on it.")


class EventCreated(EventOut):
    duplicates: list[DuplicateOut]


class AnswerOut(BaseModel):
    """One answer to the class's extra questions, as the reporter gave it."""

    code: str
    question: str
    answer: str


class PartOut(BaseModel):
    """One unit's part of a joint event: the lead's (主办, the event itself) or an assisting
    unit's (协办) with its own state, deadline and light."""

    unit: Ref | None
    role: Literal["lead", "assist"]
    status: str = Field(description="lead: the event's state; assist: dispatched, signed, "
                        "fed_back or waived.")  # fmt: skip
    light: str | None
    due_at: datetime | None
    signed_at: datetime | None = None
    fed_back_at: datetime | None = None
    result: str | None = None
    photo_ids: list[int] = []
    waived_at: datetime | None = None
    waive_reason: str | None = None
    overdue_at: datetime | None = None
    version: int | None = None


class EventDetail(EventOut):
    trail: list[TrailRow]
    attachments: list[AttachmentOut]
    answers: list[AnswerOut] = []
    assist_count: int = Field(0, description="How many assisting units (协办) the event has.")
    assist_open: int = Field(0, description="... of them still open (not fed back nor waived).")
    parts: list[PartOut] = Field(
        default_factory=list, description="A joint event's parts: the lead first, then 协办."
    )
    proposed_assist_units: list[Ref] = Field(
        default_factory=list, description="The assisting units routing proposes (dispatch)."
    )


class StepFields(RequestModel):
    """What one step of the workflow says, without the version it was read at; which fields
    count depends on the action."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    action: str = Field(max_length=32)
    note: str = Field("", max_length=2000, description="Reason or remark (required by some).")
    category: str | None = Field(None, max_length=16, description="accept: reclassify.")
    level: int | None = Field(None, ge=1, le=4, description="accept: set the level.")
    urgent: bool | None = Field(None, description="accept: set the urgent flag.")
    unit_id: int | None = Field(
        None, description="dispatch: another unit than proposed; waive_part: the part's unit."
    )
    assist_unit_ids: list[int] | None = Field(
        None,
        max_length=8,
        description="dispatch, add_assist: assisting units (协办) of the event's town or district "
        "departments; each gets its own part and deadline (at most 8).",
    )
    ok: bool | None = Field(None, description="verify: true closes, false sends back.")
    confirmed: bool | None = Field(
        None, description="verify with ok: true: the verifier confirms on site (must be true)."
    )
    result: str | None = Field(None, max_length=4000, description="feedback: what was done.")
    into: int | None = Field(None, description="merge: id of the event to merge into.")
    satisfaction: int | None = Field(None, ge=1, le=5, description="rate: 1-5.")
    comment: str | None = Field(
        None, max_length=500, description="rate: what the resident says with their stars."
    )
    attachment_ids: list[int] = Field(
        default_factory=list,
        max_length=50,
        description="Photos uploaded before, as evidence of this step (at most 50).",
    )


class TransitionIn(StepFields):
    """One step of the workflow, taken on the version the caller read."""

    version: int = Field(ge=1, description="The version you read; a stale one is refused (409).")


class TransitionChainIn(RequestModel):
    """Steps taken one after the other in one transaction (受理并交办 from the map): all of them
    land or none does."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="The version you read; a stale one is refused (409).")
    steps: list[StepFields] = Field(min_length=1, max_length=3)


class BatchItem(RequestModel):
    """One selected event and the version the caller read it at."""

    id: int = Field(ge=1)
    version: int = Field(ge=1)


class BatchIn(RequestModel):
    """One step taken on several selected events (the event center's batch 受理 and 交办, to
    each event's proposed unit); each event is its own transaction with its own result."""

    action: Literal["accept", "dispatch"]
    items: list[BatchItem] = Field(
        min_length=1, max_length=500, description="At most FENGQIAO_EVENT_BATCH_MAX events."
    )
    note: str = Field("", max_length=2000)


class BatchResult(BaseModel):
    id: int
    ok: bool
    status: int = Field(description="The status the single step would have answered.")
    event: EventOut | None = Field(None, description="The event after the step (when ok).")
    problem: dict[str, Any] | None = Field(None, description="Why not (problem+json body).")


class BatchOut(BaseModel):
    action: str
    done: int
    refused: int
    results: list[BatchResult]


class EventListOut(BaseModel):
    items: list[EventOut]
    next_cursor: str | None
    total: int | None = Field(None, description="Only when count=true (costs a count query).")

"""Events, their append-only trail, their photos, and the counters behind human event codes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import TextClause

from fengqiao.db import Base, UTCDateTime

# What the SLA sweeper still owes an open event; the partial indexes below hold only those rows,
# so a tick that finds nothing due reads nothing. Queries repeat these texts literally (SQLite).
REMINDER_PENDING_SQL = "reminded_at IS NULL AND level >= 2"
OVERDUE_PENDING_SQL = "overdue_at IS NULL"

# States in which an event still waits for someone; the partial indexes below cover only these.
OPEN_STATES = (
    "reported",
    "accepted",
    "dispatched",
    "signed",
    "handled",
    "self_handled",
    "suspended",
)
OPEN_STATES_SQL = f"status IN ({', '.join(repr(state) for state in OPEN_STATES)})"


def is_open() -> TextClause:
    """The open-states condition, written exactly as the partial indexes' WHERE.

    SQLite uses a partial index only when the query repeats its condition literally; a bound
    `status IN (?, ...)` would not match, so open-event queries use this clause.
    """
    return text(OPEN_STATES_SQL)


# Indexes one backend has and the other has not: autogenerate leaves them out of comparisons.
POSTGRES_ONLY_INDEXES = frozenset({"ix_event_open_due_id"})


class Event(Base):
    """One reported problem, denormalised so lists and deadlines are indexed comparisons."""

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("reporter_id", "idempotency_key", name="uq_event_reporter_idempotency"),
        Index("ix_event_town_created", "town_id", "created_at", "id"),
        Index("ix_event_village_created", "village_id", "created_at", "id"),
        Index("ix_event_grid_created", "grid_id", "created_at", "id"),
        Index("ix_event_created", "created_at", "id"),
        Index("ix_event_reporter_created", "reporter_id", "created_at"),
        Index("ix_event_owner_status", "owner_unit_id", "status"),
        Index("ix_event_category_created", "category_code", "created_at"),
        Index("ix_event_closed_at", "closed_at"),
        # Deadlines of open events only: the sweeper's and the overdue lists' index.
        Index(
            "ix_event_open_due",
            "due_at",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        # Likely duplicates: open events of one class in a band of latitude.
        Index(
            "ix_event_open_category_lat",
            "category_code",
            "lat",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        Index(
            "ix_event_reminder_pending",
            "remind_at",
            sqlite_where=text(f"{OPEN_STATES_SQL} AND {REMINDER_PENDING_SQL}"),
            postgresql_where=text(f"{OPEN_STATES_SQL} AND {REMINDER_PENDING_SQL}"),
        ),
        Index(
            "ix_event_overdue_pending",
            "due_at",
            sqlite_where=text(f"{OPEN_STATES_SQL} AND {OVERDUE_PENDING_SQL}"),
            postgresql_where=text(f"{OPEN_STATES_SQL} AND {OVERDUE_PENDING_SQL}"),
        ),
        Index(
            "ix_event_escalation_due",
            "escalate_at",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        Index(
            "ix_event_open_town_due",
            "town_id",
            "due_at",
            sqlite_where=text(OPEN_STATES_SQL),
            postgresql_where=text(OPEN_STATES_SQL),
        ),
        # The urgency order of the district (events/queries.py `segments`) on PostgreSQL: the
        # open deadlines with the id, so a page walks them in order instead of sorting every open
        # event ahead (migration 0024). Not on SQLite, whose planner would read the sweeper's
        # overdue probe from it instead of its smaller overdue-pending index.
        Index(
            "ix_event_open_due_id",
            "due_at",
            "id",
            postgresql_where=text(OPEN_STATES_SQL),
        ).ddl_if(dialect="postgresql"),
        # The event center's sortable columns (events/queries.py `segments`): (key, id) for the
        # district, (town, key, id) for a town (migration 0021).
        Index("ix_event_sort_category", "category_code", "id"),
        Index("ix_event_sort_status", "status", "id"),
        Index("ix_event_sort_unit", "owner_unit_id", "id"),
        Index("ix_event_sort_town", "town_id", "id"),
        Index("ix_event_sort_due", "due_at", "id"),
        Index("ix_event_town_sort_category", "town_id", "category_code", "id"),
        Index("ix_event_town_sort_status", "town_id", "status", "id"),
        Index("ix_event_town_sort_unit", "town_id", "owner_unit_id", "id"),
        Index("ix_event_town_sort_due", "town_id", "due_at", "id"),
        # A district's events by time (the province's lists, the shard key of migration 0040).
        Index("ix_event_district_created", "district_id", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The class as it was when filed: editing a class later never rewrites this history.
    category_code: Mapped[str] = mapped_column(ForeignKey("category.code"))
    category_name: Mapped[str] = mapped_column(String(64))
    major_code: Mapped[str] = mapped_column(String(8))
    major_name: Mapped[str] = mapped_column(String(64))
    platform: Mapped[str] = mapped_column(String(16))
    level: Mapped[int] = mapped_column(Integer)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    source: Mapped[str] = mapped_column(String(16))
    reporter_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    contact_phone: Mapped[str | None] = mapped_column(String(32))
    lat: Mapped[float] = mapped_column(Float)
    lng: Mapped[float] = mapped_column(Float)
    address: Mapped[str] = mapped_column(String(200), default="")
    grid_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    village_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    # The town's district (org/districts.py): the distribution column of a sharded deployment.
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))
    status: Mapped[str] = mapped_column(String(16))
    suspended_from: Mapped[str | None] = mapped_column(String(16))
    pending_action: Mapped[str | None] = mapped_column(String(16))
    pending_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    pending_note: Mapped[str | None] = mapped_column(Text)
    owner_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    proposed_unit_id: Mapped[int | None] = mapped_column(ForeignKey("unit.id"))
    routing_rule_id: Mapped[int | None] = mapped_column(Integer)
    routing_state: Mapped[str] = mapped_column(String(16), default="pending")
    escalation_rung: Mapped[int] = mapped_column(Integer, default=0)
    sla_policy_id: Mapped[int | None] = mapped_column(Integer)
    sla_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    yellow_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the reminder for the current deadline went out (None: still owed); a new deadline
    # clears it, so each deadline gets exactly one reminder.
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When an overdue event climbs the next rung of the escalation ladder by itself.
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suspended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"))
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    # What the resident wrote with their stars (the `rate` step's comment).
    rating_comment: Mapped[str | None] = mapped_column(Text)
    # The resident asked for a text message at each public step (the app inbox is always told).
    notify_sms: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    result: Mapped[str | None] = mapped_column(Text)
    version: Mapped[int] = mapped_column(Integer, default=1)
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # Head of the trail: the last row's sequence number and hash (a cut-off tail shows up).
    trail_seq: Mapped[int] = mapped_column(Integer, default=0)
    trail_hash: Mapped[str] = mapped_column(String(64), default="")
    # Co-handling (协办): how many assisting units' parts the event has, and how many are open
    # (neither fed back nor waived); the lead's feedback waits for 0 (events/parts.py). Events
    # without parts read nothing more on a step.
    assist_count: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))
    assist_open: Mapped[int] = mapped_column(Integer, default=0, server_default=text("0"))


class EventLog(Base):
    """One step of an event's trail; rows are only ever inserted (triggers refuse the rest)."""

    __tablename__ = "event_log"
    __table_args__ = (
        # `filed_at` follows from `event_id`, so this is (event_id, seq) unique; PostgreSQL
        # partitions the trail by it (migration 0040) and wants the partition key in the key.
        UniqueConstraint("event_id", "seq", "filed_at", name="uq_event_log_event_seq"),
        # The events a handler acted on (events/scope.py `acted_on`).
        Index("ix_event_log_actor_event", "actor_id", "event_id"),
        # A window of trail rows by time (Open311 servicerequestupdates, migration 0031).
        Index("ix_event_log_at", "at", "event_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    action: Mapped[str] = mapped_column(String(24))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    unit_id: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # The event's own created_at, copied onto each of its rows: PostgreSQL partitions the trail
    # by it (migration 0040), so an event's whole trail sits in one partition.
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    district_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"))


class Attachment(Base):
    """A photo of an event, stored on disk by content hash, with where and when it was taken as
    its EXIF says and as the phone said when it uploaded it (both kept: the proof checks say
    which they used)."""

    __tablename__ = "attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    # report | before | after | verify (older rows may say evidence, near or far):
    # schemas.AttachmentKind, with its words in PHOTO_KIND_ZH.
    kind: Mapped[str] = mapped_column(String(16))
    sha256: Mapped[str] = mapped_column(String(64))
    mime: Mapped[str] = mapped_column(String(32))
    bytes: Mapped[int] = mapped_column(Integer)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    lat: Mapped[float | None] = mapped_column(Float)
    lng: Mapped[float | None] = mapped_column(Float)
    # camera | album (as the phone app says) | unknown (older rows, other clients).
    origin: Mapped[str] = mapped_column(String(8), default="unknown", server_default="unknown")
    # The phone's position when it uploaded the photo (WGS-84), its accuracy and the fix's time.
    device_lat: Mapped[float | None] = mapped_column(Float)
    device_lng: Mapped[float | None] = mapped_column(Float)
    device_accuracy: Mapped[float | None] = mapped_column(Float)
    device_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    uploaded_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Staff marked it 公开给上报人: the reporter sees it on their report, the public map may show
    # it. The reporter's own report photos are theirs to see whatever this says.
    public: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class EventSequence(Base):
    """The last sequence number handed out per (town prefix, local day) for event codes."""

    __tablename__ = "event_sequence"

    prefix: Mapped[str] = mapped_column(String(16), primary_key=True)
    day: Mapped[str] = mapped_column(String(8), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class RollupPending(Base):
    """An event whose change the rollups have not taken in yet, with its state as last counted.

    A filing or step adds the row in its own transaction (one small insert, nothing if the
    event is already waiting); the worker's `rollups` job adds `now - before` to the rollups and
    deletes the row in one transaction, so each change is counted exactly once however many
    steps happen in between.
    """

    __tablename__ = "rollup_pending"

    event_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    # The state the rollups hold for the event (`changes.encode_state`); NULL: not counted yet.
    before: Mapped[str | None] = mapped_column(Text)
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime)


class EventMeToo(Base):
    """我也遇到: a resident says they meet the problem of an open event too, instead of filing it
    again; one row per resident and event (the primary key makes a second press a no-op)."""

    __tablename__ = "event_me_too"

    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user_account.id"), primary_key=True, index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


# The states of an assisting unit's part: waiting for its signature, signed, fed back, waived.
PART_STATUSES = ("dispatched", "signed", "fed_back", "waived", "ended")
PART_OPEN_SQL = "status IN ('dispatched', 'signed')"


class EventPart(Base):
    """An assisting unit's part (协办) of a joint event: its own signature, feedback, deadline and
    light. The lead's (主办) part is the event's own row (its owner unit, deadline and steps)."""

    __tablename__ = "event_part"
    __table_args__ = (
        UniqueConstraint("event_id", "unit_id", name="uq_event_part_event_unit"),
        Index("ix_event_part_unit_status", "unit_id", "status"),
        # What the sweeper still owes the open parts (as the event's partial indexes).
        Index(
            "ix_event_part_open_remind",
            "remind_at",
            sqlite_where=text(f"{PART_OPEN_SQL} AND reminded_at IS NULL"),
            postgresql_where=text(f"{PART_OPEN_SQL} AND reminded_at IS NULL"),
        ),
        Index(
            "ix_event_part_open_due",
            "due_at",
            sqlite_where=text(f"{PART_OPEN_SQL} AND overdue_at IS NULL"),
            postgresql_where=text(f"{PART_OPEN_SQL} AND overdue_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("unit.id"))
    role: Mapped[str] = mapped_column(String(8), default="assist")  # 协办 (the lead is the event)
    status: Mapped[str] = mapped_column(String(12), default="dispatched")
    # Denormalised from the event, so the part lists filter and scope without a join.
    town_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"))
    dispatched_at: Mapped[datetime] = mapped_column(UTCDateTime)
    dispatched_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    signed_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    fed_back_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fed_back_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    result: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    waived_by: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    waive_reason: Mapped[str | None] = mapped_column(Text)
    sla_policy_id: Mapped[int | None] = mapped_column(Integer)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    yellow_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    overdue_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    version: Mapped[int] = mapped_column(Integer, default=1)

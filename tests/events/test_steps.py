"""The transition table decides: every edge taken through `transition()` lands in the row's
target, a handler's changes are applied by the one function that lands a step, and a handler
cannot put an event anywhere the table does not allow."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User, UserRole
from fengqiao.auth.service import load_principal
from fengqiao.events import filing, service, steps, workflow
from fengqiao.events.models import Event, EventLog
from fengqiao.events.parts import add_parts, parts_of
from fengqiao.events.photos import DeviceFix, PhotoInfo
from fengqiao.events.schemas import EventCreate, TransitionIn
from fengqiao.geo.service import GridLocator
from fengqiao.org.models import Unit
from fengqiao.scope import Principal
from fengqiao.taxonomy.snapshot import Rules, load_rules

from .conftest import START, World

# Who takes a step for each actor kind (the event is filed by demo_grid_worker in their grid).
ACTOR_USER = {
    "operator": "demo_operator",
    "leader": "demo_leader",
    "owner_handler": "demo_handler",
    "reporter_worker": "demo_grid_worker",
    "verifier": "demo_grid_worker",
    "reporter": "demo_grid_worker",
    # A handler of another unit of the town, assisting (协办; Desk finds one).
    "assist_signer": "assistant",
    "assist_handler": "assistant",
}
PHOTO = PhotoInfo(sha256="b" * 64, mime="image/jpeg", bytes=10, width=1, height=1,
                  taken_at=None, lat=None, lng=None)  # fmt: skip
NOW = START + timedelta(hours=2)

FIXED_EDGES = sorted(
    (state, t.action)
    for t in workflow.TRANSITIONS
    if t.target not in workflow.HANDLER_DECIDES and "system" not in t.actors
    for state in t.sources
)


class Desk:
    """Files events in demo_grid_worker's grid and puts them straight into a state."""

    def __init__(self, db: Session, world: World) -> None:
        self.db, self.world = db, world
        self.rules: Rules = load_rules(db)
        self.locator = GridLocator(0)
        self.locator.refresh(db)
        helper = db.execute(
            select(User.id, User.unit_id)
            .join(UserRole, UserRole.user_id == User.id)
            .join(Unit, Unit.id == User.unit_id)
            .where(
                UserRole.role == "handler",
                User.unit_id != world.handler_unit,
                Unit.org_unit_id == self.rules.units.by_id[world.handler_unit].org_unit_id,
            )
            .order_by(User.id)
        ).first()
        assert helper is not None
        self.world.ids["assistant"], self.assist_unit = helper.id, helper.unit_id

    def principal(self, user: str) -> Principal:
        principal = load_principal(db=self.db, user_id=self.world.ids[user])
        assert principal is not None
        return principal

    def event(self, state: str, *, level: int = 2) -> Event:
        lat, lng = self.world.grid_point
        filed, _ = filing.create_event(
            db=self.db, rules=self.rules, place=self.locator.locate(lng, lat),
            principal=self.principal("demo_grid_worker"), now=START,
            data=EventCreate(source="grid_worker", category=self.world.handler_category, lat=lat,
                             lng=lng, level=level),
        )  # fmt: skip
        event = self.db.get(Event, filed.id)
        assert event is not None
        event.status = state
        if state in ("dispatched", "signed", "handled", "closed", "suspended"):
            event.owner_unit_id = self.world.handler_unit
            event.dispatched_at = START
        if state == "suspended":
            event.suspended_from, event.suspended_at = "signed", START
        self.db.flush()
        return event

    def take(self, event: Event, action: str, **fields: object) -> Event:
        step = workflow.BY_ACTION[action]
        known = service.facts(event, self.rules, parts_of(self.db, event))
        kinds = workflow.actors_for(step, known)
        user = next(
            ACTOR_USER[kind]
            for kind in kinds
            if workflow.is_actor(kind, self.principal(ACTOR_USER[kind]), known)
        )
        data = TransitionIn.model_validate(
            {"action": action, "version": event.version, "note": "理由", **fields}
        )
        return steps.transition(
            db=self.db, rules=self.rules, principal=self.principal(user),
            event_id=event.id, data=data, now=NOW,
        )  # fmt: skip

    def data_for(self, event: Event, action: str) -> dict[str, object]:
        """What the step's handler needs to go through."""
        if action in ("close", "feedback"):
            user = "demo_grid_worker" if action == "close" else "demo_handler"
            photos = service.add_attachments(
                db=self.db, principal=self.principal(user), event=event, photos=[PHOTO],
                kind="after", now=START,
            )  # fmt: skip
            return {"attachment_ids": [p.id for p in photos], "result": "已处理"}
        if action == "dispatch":
            return {"unit_id": self.world.handler_unit}
        if action == "add_assist":
            return {"assist_unit_ids": [self.assist_unit]}
        if action in ("sign_part", "feedback_part", "waive_part"):
            return self.part_for(event, action)
        if action == "rate":
            return {"satisfaction": 5}
        if action == "merge":
            return {"into": self.event("accepted").id}
        if action == "deny":
            event.pending_action, event.pending_by, event.pending_note = "suspend", 1, "理由"
            self.db.flush()
        return {}

    def part_for(self, event: Event, action: str) -> dict[str, object]:
        """An assisting part waiting for the step (signed for a feedback, with its photo)."""
        (part,) = add_parts(db=self.db, rules=self.rules, event=event,
                            unit_ids=[self.assist_unit], actor_id=None, now=START)  # fmt: skip
        event.assist_count, event.assist_open = 1, 1
        if action == "feedback_part":
            part.status = "signed"
            photos = service.add_attachments(
                db=self.db, principal=self.principal("assistant"), event=event, photos=[PHOTO],
                kind="after", now=START,
            )  # fmt: skip
            self.db.flush()
            return {"attachment_ids": [p.id for p in photos], "result": "已配合"}
        self.db.flush()
        return {"unit_id": self.assist_unit} if action == "waive_part" else {}


@pytest.fixture
def desk(db: Session, world: World) -> Desk:
    return Desk(db, world)


@pytest.mark.parametrize(("state", "action"), FIXED_EDGES)
def test_every_fixed_edge_lands_in_the_tables_target(desk: Desk, state: str, action: str) -> None:
    event = desk.event(state, level=1 if action == "self_handle" else 2)
    fields = desk.data_for(event, action)
    after = desk.take(event, action, **fields)
    expected = workflow.target_of(workflow.BY_ACTION[action], state)
    assert after.status == expected
    last = desk.db.scalars(
        select(EventLog).where(EventLog.event_id == event.id).order_by(EventLog.seq.desc())
    ).first()
    assert last is not None
    assert (last.action, last.from_status, last.to_status) == (action, state, expected)


def test_recover_lands_in_the_tables_target(desk: Desk) -> None:
    step = workflow.BY_ACTION["recover"]
    for state in sorted(step.sources):
        event = desk.event(state)
        event.source = "iot"
        desk.db.flush()
        recovered = steps.recover_event(
            db=desk.db, event_id=event.id, now=NOW, note="设备已恢复", payload={"device": 1}
        )
        assert recovered is not None and recovered.status == step.target == "closed"


@pytest.mark.parametrize(
    ("state", "action", "fields", "pending", "expected"),
    [
        ("handled", "verify", {"ok": True}, None, "closed"),
        ("handled", "verify", {"ok": False}, None, "signed"),
        ("signed", "approve", {}, "suspend", "suspended"),
        ("signed", "approve", {}, "void", "voided"),
        ("suspended", "resume", {}, None, "signed"),  # the state before the suspension
    ],
)
def test_a_data_dependent_target_is_the_handlers_word_within_the_row(
    desk: Desk,
    state: str,
    action: str,
    fields: dict[str, object],
    pending: str | None,
    expected: str,
) -> None:
    step = workflow.BY_ACTION[action]
    assert step.target in workflow.HANDLER_DECIDES and expected in step.outcomes
    event = desk.event(state)
    if pending is not None:
        event.pending_action, event.pending_by, event.pending_note = pending, 1, "理由"
        desk.db.flush()
    if fields.get("ok"):  # the verifier's on-site photo, taken at the event just now
        here = DeviceFix(lat=event.lat, lng=event.lng, accuracy_m=10.0, at=NOW)
        photos = service.add_attachments(
            db=desk.db, principal=desk.principal("demo_grid_worker"), event=event,
            photos=[dataclasses.replace(PHOTO, device=here)], kind="verify", now=NOW,
        )  # fmt: skip
        fields = {**fields, "confirmed": True, "attachment_ids": [p.id for p in photos]}
    assert desk.take(event, action, **fields).status == expected


def test_editing_the_table_changes_where_a_step_leads(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    sign = workflow.BY_ACTION["sign"]
    monkeypatch.setitem(workflow.BY_ACTION, "sign", dataclasses.replace(sign, target="handled"))
    event = desk.event("dispatched")
    assert desk.take(event, "sign").status == "handled"


def test_the_handlers_changes_are_applied_by_the_one_function(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []

    def sign(step: steps.StepInput) -> steps.Outcome:
        seen.append(step.event.status)  # the handler runs before anything changed
        return steps.Outcome(77, {"said": "签收"}, {"result": "已到场", "signed_at": NOW})

    monkeypatch.setitem(steps.HANDLERS, "sign", sign)
    event = desk.event("dispatched")
    version = event.version
    after = desk.take(event, "sign")
    assert seen == ["dispatched"]
    assert (after.status, after.result, after.signed_at, after.version) == (
        "signed", "已到场", NOW, version + 1,
    )  # fmt: skip
    row = desk.db.scalars(
        select(EventLog).where(EventLog.event_id == event.id).order_by(EventLog.seq.desc())
    ).first()
    assert row is not None and (row.unit_id, row.payload) == (77, {"said": "签收"})


def test_a_handler_cannot_name_a_state_the_row_does_not_allow() -> None:
    sign, verify = workflow.BY_ACTION["sign"], workflow.BY_ACTION["verify"]
    with pytest.raises(ValueError, match="the table decides"):
        workflow.target_of(sign, "dispatched", "closed")
    with pytest.raises(ValueError, match="cannot lead to"):
        workflow.target_of(verify, "handled", "voided")
    with pytest.raises(ValueError, match="cannot lead to"):
        workflow.target_of(verify, "handled", None)
    assert workflow.target_of(workflow.BY_ACTION["rate"], "closed") == "closed"


def test_every_action_has_one_handler_and_every_word_is_documented() -> None:
    assert set(steps.HANDLERS) == set(workflow.ACTIONS)
    for transition in workflow.TRANSITIONS:
        if transition.target in workflow.HANDLER_DECIDES:
            assert transition.outcomes and transition.outcomes <= workflow.STATES
        else:
            assert not transition.outcomes
            assert transition.target == workflow.SAME or transition.target in workflow.STATES

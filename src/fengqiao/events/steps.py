"""The steps of the closed loop: one typed handler per action of the transition table, and the
one function that lands a step.

A handler checks the step's own data, does the step's own work and returns what it changes; it
never sets the state. `land` applies the changes and the table's target (`workflow.target_of`:
a fixed state, the same state, or for a data-dependent target the handler's word, bounded by
the table), then the version, the trail row and the rollups' change queue. Every mutation
follows one order: authorise → lock (version) → write → trail row → flush; the caller commits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import Session

from fengqiao.errors import FieldError, Problem, check_version, conflict, forbidden, invalid
from fengqiao.events import changes, proof, workflow
from fengqiao.events.escalation import EscalationPolicy, climb, event_rung_name
from fengqiao.events.filing import check_serves, deadline_for, iso, route, routing_payload
from fengqiao.events.models import Attachment, Event
from fengqiao.events.notices import announce
from fengqiao.events.parts import add_parts, check_assists, end_open_parts, parts_of
from fengqiao.events.proof import ProofPolicy
from fengqiao.events.schemas import TransitionIn
from fengqiao.events.service import facts, get_event
from fengqiao.events.trail import append_log, record_step
from fengqiao.events.workflow import STATUS_ZH, EventFacts, Transition
from fengqiao.scope import Principal
from fengqiao.sla.deadlines import Deadline, extend_for_pause
from fengqiao.taxonomy.snapshot import Rules

DEFAULT_ESCALATION = EscalationPolicy()
DEFAULT_PROOF = ProofPolicy()


@dataclass(frozen=True)
class StepInput:
    """What a handler is given: the locked event and the step asked for. A person's step has a
    principal, the rules and the event's facts; the system's (recover) has none of them."""

    db: Session
    event: Event
    data: TransitionIn
    now: datetime
    principal: Principal | None = None
    rules: Rules | None = None
    facts: EventFacts | None = None
    escalation: EscalationPolicy = DEFAULT_ESCALATION
    proof: ProofPolicy = DEFAULT_PROOF
    given: dict[str, Any] = field(default_factory=dict)  # the system's own trail payload

    @property
    def who(self) -> Principal:
        assert self.principal is not None, f"{self.data.action} is a person's step"
        return self.principal

    @property
    def table(self) -> Rules:
        assert self.rules is not None, f"{self.data.action} needs the rules"
        return self.rules


@dataclass(frozen=True)
class Outcome:
    """What a handler did: the columns it changes, the unit and payload of the trail row, and the
    state only where the table leaves it to the handler (a target in HANDLER_DECIDES)."""

    unit_id: int | None
    payload: dict[str, Any]
    changes: dict[str, Any] = field(default_factory=dict)
    status: str | None = None


Handler = Callable[[StepInput], Outcome]
HANDLERS: dict[str, Handler] = {}


def handles(*actions: str) -> Callable[[Handler], Handler]:
    """Register a handler for actions of the transition table."""

    def register(handler: Handler) -> Handler:
        for action in actions:
            assert action in workflow.BY_ACTION and action not in HANDLERS, action
            HANDLERS[action] = handler
        return handler

    return register


def land(
    db: Session,
    event: Event,
    step: Transition,
    outcome: Outcome,
    *,
    actor_id: int | None,
    note: str,
    now: datetime,
) -> None:
    """The one place a step lands: the handler's changes, the table's target, a new version, the
    trail row, and the change queue when a column the rollups read moved."""
    before, counted = event.status, changes.state_of(event)
    for name, value in outcome.changes.items():
        setattr(event, name, value)
    event.status = workflow.target_of(step, before, outcome.status)
    if event.assist_open and event.status in workflow.FINAL:
        end_open_parts(db, event, now=now)
    event.version += 1
    event.updated_at = now
    append_log(
        db, event, at=now, actor_id=actor_id, action=step.action, from_status=before,
        to_status=event.status, unit_id=outcome.unit_id, note=note, payload=outcome.payload,
    )  # fmt: skip
    if counted != changes.state_of(event):
        # Through the module, so one patch of `changes.queue_change` reaches every caller (bench).
        changes.queue_change(db, event_id=event.id, before=counted, now=now)


def transition(
    *,
    db: Session,
    rules: Rules,
    principal: Principal,
    event_id: int,
    data: TransitionIn,
    now: datetime,
    escalation: EscalationPolicy = DEFAULT_ESCALATION,
    proof: ProofPolicy = DEFAULT_PROOF,
) -> Event:
    """Take one step of the workflow, or refuse with why (403 who, 409 state or version, 422
    what the step lacks: its fields, its proof)."""
    step = workflow.BY_ACTION.get(data.action)
    if step is None:
        raise invalid(
            "action",
            f"unknown action; use one of {', '.join(workflow.ACTIONS)}",
            f"未知操作；可选：{'、'.join(workflow.ACTIONS)}",
        )
    event = get_event(db=db, principal=principal, event_id=event_id, lock=True)
    if event.status not in step.sources:
        raise conflict(
            "illegal-transition", "Action not allowed in this state", "当前状态不能执行此操作",
            f"cannot {data.action} an event that is {event.status}; "
            f"possible now: {', '.join(workflow.available(event.status)) or 'nothing'}",
            f"事件当前状态为「{STATUS_ZH.get(event.status, event.status)}」，不能执行「{step.name_zh}」",
        )  # fmt: skip
    known = facts(event, rules, parts_of(db, event))
    kinds = workflow.actors_for(step, known)
    if not any(workflow.is_actor(kind, principal, known) for kind in kinds):
        raise forbidden(
            f"only {' or '.join(kinds)} may {data.action} this event",
            f"只有{'或'.join(workflow.ACTOR_ZH[k] for k in kinds)}可以执行「{step.name_zh}」",
        )
    check_version(data.version, event.version, what="event", what_zh="事件")
    given = StepInput(
        db=db, event=event, data=data, now=now, principal=principal, rules=rules, facts=known,
        escalation=escalation, proof=proof,
    )  # fmt: skip
    outcome = HANDLERS[data.action](given)
    land(db, event, step, outcome, actor_id=principal.user_id, note=data.note, now=now)
    if data.action == "return" and event.return_count == escalation.returns:
        # The Nth return: the event climbs a rung by itself (a step of its own on the trail).
        climbed = climb(db, event, now=now, reason="returns", policy=escalation)
        if climbed is not None:
            record_step(db, event, now=now, action="escalate", payload=climbed)
    # Whoever the step hands the event to is told, in this transaction (events/notices.py).
    announce(db, event, action=data.action, actor_id=principal.user_id, note=data.note,
             now=now, policy=escalation)  # fmt: skip
    db.flush()
    return event


def recover_event(
    *, db: Session, event_id: int, now: datetime, note: str, payload: dict[str, Any]
) -> Event | None:
    """The system's `recover` step: close an open IoT event whose device reported recovery
    (the caller checked that the rule allows it); None when the event is not IoT or its state
    has no `recover` edge (suspended, or finished meanwhile)."""
    step = workflow.BY_ACTION["recover"]
    event = db.scalar(
        select(Event)
        .where(Event.id == event_id)
        .with_for_update()
        .execution_options(populate_existing=True)  # its trail may have moved by Core writes
    )
    if event is None or event.source != "iot" or event.status not in step.sources:
        return None
    # Built without validation: the note is the system's own text, not a request's.
    data = TransitionIn.model_construct(action="recover", version=event.version, note=note)
    outcome = HANDLERS["recover"](StepInput(db=db, event=event, data=data, now=now, given=payload))
    land(db, event, step, outcome, actor_id=None, note=note, now=now)
    db.flush()
    return event


# --- the handlers, in the order of the table ------------------------------------------------


def _need_note(data: TransitionIn, what: str, what_zh: str) -> None:
    if not data.note:
        raise invalid("note", f"{data.action} needs a reason: {what}", f"请填写{what_zh}")


def _proposal(
    rules: Rules, event: Event, *, category_code: str, level: int, payload: dict[str, Any]
) -> tuple[int | None, str, dict[str, Any]]:
    """Routing proposes again for the event's (possibly new) class and level: (unit, reason,
    the columns it sets); the proposal goes on the trail."""
    proposal = route(
        rules, category_code=category_code, level=level,
        place_ids=(event.village_id, event.town_id),
    )  # fmt: skip
    payload["routing"] = routing_payload(proposal)
    return (
        proposal.unit_id,
        proposal.reason,
        {
            "proposed_unit_id": proposal.unit_id,
            "routing_rule_id": proposal.rule_id,
            "routing_state": "proposed" if proposal.unit_id is not None else "unrouted",
        },
    )


def _new_deadline(policy_id: int | None, deadline: Deadline, start: datetime) -> dict[str, Any]:
    return {"sla_policy_id": policy_id, "sla_started_at": start, **_moved_deadline(deadline)}


def _moved_deadline(deadline: Deadline) -> dict[str, Any]:
    """A new deadline is owed its own reminder and, if it passes, its own overdue order."""
    return {
        "due_at": deadline.due_at,
        "yellow_at": deadline.yellow_at,
        "remind_at": deadline.remind_at,
        "reminded_at": None,
        "overdue_at": None,
        "escalate_at": None,
    }


@handles("accept")
def _accept(step: StepInput) -> Outcome:
    event, data, rules = step.event, step.data, step.table
    payload: dict[str, Any] = {}
    changed: dict[str, Any] = {}
    if data.category is not None and data.category != event.category_code:
        category = rules.categories.get(data.category)
        if category is None or not category.active:
            raise invalid(
                "category", f"unknown or retired class {data.category!r}", "事件分类不存在或已停用"
            )
        if rules.category_in(category.code, town_id=event.town_id) is None:
            raise invalid(
                "category",
                f"class {category.code} is turned off in this district",
                f"事件分类“{category.name_zh}”在本区县已停用",
            )
        payload["category"] = {"from": event.category_code, "to": category.code}
        changed.update(
            category_code=category.code, category_name=category.name_zh,
            major_code=category.major_code, major_name=category.major_name,
            platform=category.platform,
        )  # fmt: skip
    if data.level is not None and data.level != event.level:
        payload["level"] = {"from": event.level, "to": data.level}
        changed["level"] = data.level
    if data.urgent is not None and data.urgent != event.urgent:
        payload["urgent"] = {"from": event.urgent, "to": data.urgent}
        changed["urgent"] = data.urgent
    category_code = changed.get("category_code", event.category_code)
    level = changed.get("level", event.level)
    if payload:
        # A reclassification never shortens the time already given: keep the later deadline.
        start = event.sla_started_at or event.created_at
        policy_id, deadline = deadline_for(
            rules, level=level, category_code=category_code,
            urgent=changed.get("urgent", event.urgent), start=start, town_id=event.town_id,
        )  # fmt: skip
        if deadline is not None and (event.due_at is None or deadline.due_at > event.due_at):
            changed.update(_new_deadline(policy_id, deadline, start))
            payload["due_at"] = iso(deadline.due_at)
    _unit, _reason, routing = _proposal(
        rules, event, category_code=category_code, level=level, payload=payload
    )
    changed.update(routing, accepted_at=step.now)
    return Outcome(None, payload, changed)


@handles("reject")
def _reject(step: StepInput) -> Outcome:
    _need_note(step.data, "why it is not accepted", "不予受理的理由")
    return Outcome(None, {}, {"closed_at": step.now})


@handles("self_handle")
def _self_handle(step: StepInput) -> Outcome:
    event = step.event
    if not workflow.is_level_1(facts_of(step)):
        raise conflict(
            "not-level-1", "Only level-1 events are self-handled", "只有一级事件可由网格员自行处置",
            f"this event is level {event.level}; it goes to the command room",
            f"该事件为{event.level}级，须由指挥室受理交办",
        )  # fmt: skip
    return Outcome(None, {}, {"accepted_at": step.now})


@handles("close")
def _close(step: StepInput) -> Outcome:
    photos = _named_photos(step)
    if not any(photo.kind in proof.HANDLING_KINDS for photo in photos):
        raise Problem(
            422, "evidence-required", "Evidence photo required", "须上传处置照片",
            "close needs at least one photo of the handling (upload it with kind=after to "
            "/events/{id}/attachments first)", "请先上传处置后照片，再办结",
            [FieldError("attachment_ids", "a photo of the handling is required", "须附处置后照片")],
        )  # fmt: skip
    changed: dict[str, Any] = {"handled_at": step.now, "closed_at": step.now}
    if step.data.result is not None:
        changed["result"] = step.data.result
    return Outcome(None, _label(photos, "after", proof.HANDLING_KINDS), changed)


@handles("dispatch")
def _dispatch(step: StepInput) -> Outcome:
    event, data, rules, now = step.event, step.data, step.table, step.now
    payload: dict[str, Any] = {}
    proposed, reason, changed = _proposal(
        rules, event, category_code=event.category_code, level=event.level, payload=payload
    )
    unit_id = data.unit_id if data.unit_id is not None else proposed
    assisting = list(data.assist_unit_ids or [])
    if assisting:
        check_assists(rules, event, assisting, lead=unit_id)  # a joint event needs its lead
    if unit_id is None:
        raise conflict(
            "unrouted", "No unit to dispatch to", "未匹配到责任单位",
            f"no routing rule gives a unit ({reason}); choose a unit_id and give a reason",
            "没有流转规则匹配此事件，请指定责任单位并说明理由",
        )  # fmt: skip
    check_serves(rules, event, unit_id)
    if unit_id != proposed:
        _need_note(data, "why another unit than the proposed one", "改派其他单位的理由")
        changed["routing_state"] = "override"
        payload["override"] = {"proposed": proposed, "chosen": unit_id}
    redispatch = event.dispatched_at is not None
    changed.update(owner_unit_id=unit_id, dispatched_at=now)
    if assisting:
        made = add_parts(
            db=step.db, rules=rules, event=event, unit_ids=assisting, actor_id=step.who.user_id,
            now=now, lead_unit_id=unit_id,
        )  # fmt: skip
        changed.update(
            assist_count=event.assist_count + len(made), assist_open=event.assist_open + len(made)
        )
        payload["assist_unit_ids"] = assisting
    if redispatch:
        # After a return the unit that takes it over gets the full time again.
        policy_id, deadline = deadline_for(
            rules, level=event.level, category_code=event.category_code, urgent=event.urgent,
            start=now, town_id=event.town_id,
        )  # fmt: skip
        if deadline is not None:
            changed.update(_new_deadline(policy_id, deadline, now))
            payload["due_at"] = iso(deadline.due_at)
            payload["redispatch"] = True
    return Outcome(unit_id, payload, changed)


@handles("sign")
def _sign(step: StepInput) -> Outcome:
    return Outcome(step.event.owner_unit_id, {}, {"signed_at": step.now})


@handles("return")
def _return(step: StepInput) -> Outcome:
    _need_note(step.data, "why the event is not this unit's", "回退理由（为何不属本单位）")
    returns = step.event.return_count + 1
    changed = {"return_count": returns, "owner_unit_id": None}
    return Outcome(step.event.owner_unit_id, {"return_count": returns}, changed)


@handles("feedback")
def _feedback(step: StepInput) -> Outcome:
    data = step.data
    if not workflow.parts_done(facts_of(step)):
        raise Problem(
            409, "parts-open", "Assisting units have not fed back", "协办单位尚未全部反馈",
            f"{step.event.assist_open} assisting part(s) are open: each must feed back or be "
            "waived by an operator first",
            f"还有{step.event.assist_open}个协办单位未反馈，须全部反馈或由坐席免除后，主办单位才能反馈",
            [FieldError("parts", "assisting parts are open", "协办未完成")],
        )  # fmt: skip
    photos = _named_photos(step)
    category = step.table.categories.get(step.event.category_code)
    proof.check_feedback(
        result=data.result, kinds=[photo.kind for photo in photos],
        photo_required=category is None or category.feedback_photo_required,
    )  # fmt: skip
    changed = {"result": data.result, "handled_at": step.now}
    payload = _label(photos, "after", proof.HANDLING_KINDS)
    return Outcome(step.event.owner_unit_id, payload, changed)


@handles("verify")
def _verify(step: StepInput) -> Outcome:
    event, data = step.event, step.data
    if data.ok is None:
        raise invalid("ok", "verify needs ok: true (closes) or false (rework)", "请选择核查结果")
    if data.ok:
        return _verify_passed(step)
    # Sending it back for rework needs only the reason (photos, if named, are kept as named).
    _need_note(data, "what is still wrong", "核查不通过的原因")
    reworks = event.rework_count + 1
    payload = {"ok": False, "rework_count": reworks}
    return Outcome(event.owner_unit_id, payload, {"rework_count": reworks}, "signed")


def _request(kind: str) -> Handler:
    def handle(step: StepInput) -> Outcome:
        event, data = step.event, step.data
        if event.pending_action is not None:
            raise conflict(
                "request-pending", "A request is already pending", "已有待审批的申请",
                f"a {event.pending_action} request waits for approval",
                "已有申请等待审批，请先处理",
            )  # fmt: skip
        _need_note(data, f"why the event should be {kind}ed", "申请理由")
        changed = {
            "pending_action": kind,
            "pending_by": step.who.user_id,
            "pending_note": data.note,
        }
        return Outcome(event.owner_unit_id, {"request": kind}, changed)

    return handle


handles("request_suspend")(_request("suspend"))
handles("request_void")(_request("void"))

_NO_REQUEST: dict[str, Any] = {"pending_action": None, "pending_by": None, "pending_note": None}


@handles("approve")
def _approve(step: StepInput) -> Outcome:
    event = step.event
    kind = _pending(step)
    if kind != "suspend":
        voided: dict[str, Any] = {"closed_at": step.now, **_NO_REQUEST}
        return Outcome(event.owner_unit_id, {"approved": kind}, voided, "voided")
    if event.status not in workflow.SUSPENDABLE:
        raise conflict(
            "illegal-transition", "Cannot suspend in this state", "当前状态不能挂起",
            f"the event is {event.status} now", f"事件当前状态为「{STATUS_ZH.get(event.status)}」",
        )  # fmt: skip
    changed: dict[str, Any] = {
        "suspended_from": event.status,
        "suspended_at": step.now,
        **_NO_REQUEST,
    }
    return Outcome(event.owner_unit_id, {"approved": kind}, changed, "suspended")


@handles("deny")
def _deny(step: StepInput) -> Outcome:
    kind = _pending(step)
    return Outcome(step.event.owner_unit_id, {"denied": kind}, dict(_NO_REQUEST))


def _pending(step: StepInput) -> str:
    if not workflow.has_request(facts_of(step)) or step.event.pending_action is None:
        raise conflict(
            "no-request", "Nothing to approve", "没有待审批的申请",
            "no suspend or void request is pending", "当前没有挂起或作废申请",
        )  # fmt: skip
    return step.event.pending_action


@handles("resume")
def _resume(step: StepInput) -> Outcome:
    event, rules, now = step.event, step.table, step.now
    assert event.suspended_at is not None and event.suspended_from is not None
    paused_from = event.suspended_at
    paused = (now - paused_from).total_seconds()
    changed: dict[str, Any] = {"paused_seconds": event.paused_seconds + paused}
    payload: dict[str, Any] = {"paused_seconds": paused}
    ref = next((p for p in rules.policies if p.id == event.sla_policy_id), None)
    if ref is not None and event.due_at is not None and event.yellow_at is not None:
        moved = extend_for_pause(
            deadline=Deadline(event.due_at, event.yellow_at, event.remind_at),
            paused_from=paused_from, paused_to=now, policy=ref.policy, calendar=rules.calendar,
        )  # fmt: skip
        changed.update(_moved_deadline(moved))
        payload["due_at"] = iso(moved.due_at)
    changed.update(suspended_from=None, suspended_at=None)
    return Outcome(event.owner_unit_id, payload, changed, event.suspended_from)


@handles("merge")
def _merge(step: StepInput) -> Outcome:
    event, data = step.event, step.data
    if data.into is None:
        raise invalid("into", "merge needs the id of the event to merge into", "请指定合并到的事件")
    if data.into == event.id:
        raise invalid("into", "an event cannot be merged into itself", "不能合并到自身")
    target = get_event(db=step.db, principal=step.who, event_id=data.into)
    if target.status not in workflow.OPEN or target.duplicate_of_id is not None:
        raise conflict(
            "merge-target-closed", "Merge target is not open", "合并目标事件已办结",
            f"event {target.code} is {target.status}", f"事件 {target.code} 已不在办理中",
        )  # fmt: skip
    if target.category_code != event.category_code:
        raise invalid("into", "merge only events of the same class", "只能合并同一分类的事件")
    changed = {"duplicate_of_id": target.id, "closed_at": step.now}
    return Outcome(None, {"into": target.id, "into_code": target.code}, changed)


@handles("rate")
def _rate(step: StepInput) -> Outcome:
    satisfaction = step.data.satisfaction
    if satisfaction is None:
        raise invalid("satisfaction", "rate needs satisfaction 1-5", "请选择满意度（1-5）")
    if not workflow.not_rated(facts_of(step)):
        raise conflict(
            "already-rated", "Already rated", "已评价",
            "this event was rated before; a rating is given once",
            "您已经评价过了，每件只能评价一次",
        )  # fmt: skip
    payload: dict[str, Any] = {"satisfaction": satisfaction}
    changed: dict[str, Any] = {"satisfaction": satisfaction}
    comment = (step.data.comment or "").strip()
    if comment:
        # Shown on the report as the resident wrote it; the trail keeps it with the stars.
        payload["comment"] = changed["rating_comment"] = comment
    return Outcome(None, payload, changed)


@handles("request_escalation", "escalate")
def _escalate(step: StepInput) -> Outcome:
    event, data = step.event, step.data
    _need_note(data, "why it needs a higher rung", "升级理由")
    reason = "unit_request" if data.action == "request_escalation" else "operator"
    # The ladder's own work (the rung, its next due time, the messages) is `climb`'s, shared with
    # the sweeper; it touches no column the state or the rollups read.
    payload = climb(step.db, event, now=step.now, reason=reason, policy=step.escalation)
    if payload is None:
        top = event_rung_name(event).split("（")[0]
        raise conflict(
            "top-rung", "Already at the top rung", "已升级至最高层级",
            "the event is already at the top rung of its ladder", f"事件已升级至{top}，不能再升级",
        )  # fmt: skip
    return Outcome(event.owner_unit_id, payload)


@handles("recover")
def _recover(step: StepInput) -> Outcome:
    event, now = step.event, step.now
    changed = {
        "handled_at": event.handled_at or now,
        "closed_at": now,
        "result": event.result or step.data.note,
        **_NO_REQUEST,
    }
    return Outcome(event.owner_unit_id, step.given, changed)


def facts_of(step: StepInput) -> EventFacts:
    """The facts the guards read (a person's step carries them)."""
    assert step.facts is not None, f"{step.data.action} is a person's step"
    return step.facts


def _verify_passed(step: StepInput) -> Outcome:
    """核查通过: the verifier's own photo, uploaded since the feedback, taken recently near the
    event, and their confirmation (events/proof.py); the photo is labelled 核查."""
    event, data = step.event, step.data
    named = _named_photos(step) if data.attachment_ids else _photos_since_feedback(step)
    mine = [
        photo
        for photo in named
        if photo.kind in proof.VERIFY_KINDS
        and photo.uploaded_by == step.who.user_id
        and (event.handled_at is None or photo.created_at >= event.handled_at)
    ]
    reading = proof.check_verify(
        photos=[_photo_facts(photo) for photo in mine], confirmed=data.confirmed,
        lat=event.lat, lng=event.lng, now=step.now, policy=step.proof,
    )  # fmt: skip
    payload = {"ok": True, "confirmed": True, **_label(mine, "verify", proof.VERIFY_KINDS)}
    payload["proof"] = reading.payload()
    return Outcome(event.owner_unit_id, payload, {"closed_at": step.now}, "closed")


def _named_photos(step: StepInput) -> list[Attachment]:
    """The photos the step names; each must be one of this event's."""
    ids = sorted(set(step.data.attachment_ids))
    if not ids:
        return []
    rows = list(
        step.db.scalars(
            select(Attachment)
            .where(and_(Attachment.id.in_(ids), Attachment.event_id == step.event.id))
            .order_by(Attachment.id)
        )
    )
    if len(rows) != len(ids):
        raise invalid("attachment_ids", "not photos of this event", "附件不属于该事件")
    return rows


def _photos_since_feedback(step: StepInput) -> list[Attachment]:
    """A verification that names no photo: the verifier's photos uploaded since the feedback."""
    query = select(Attachment).where(
        Attachment.event_id == step.event.id, Attachment.uploaded_by == step.who.user_id
    )
    if step.event.handled_at is not None:
        query = query.where(Attachment.created_at >= step.event.handled_at)
    return list(step.db.scalars(query.order_by(Attachment.id)))


def _label(photos: list[Attachment], kind: str, takes: tuple[str, ...]) -> dict[str, Any]:
    """Label the step's photos of the kinds it takes as `kind` (an older client's `evidence`
    after a feedback is 处置后); the trail payload names them all, and those relabelled."""
    relabelled = [photo.id for photo in photos if photo.kind in takes and photo.kind != kind]
    for photo in photos:
        if photo.kind in takes:
            photo.kind = kind
    payload: dict[str, Any] = {"attachment_ids": [photo.id for photo in photos]}
    if relabelled:
        payload["labelled"] = {kind: relabelled}
    return payload


def _photo_facts(photo: Attachment) -> proof.PhotoFacts:
    return proof.PhotoFacts(
        id=photo.id, kind=photo.kind, uploaded_by=photo.uploaded_by, uploaded_at=photo.created_at,
        origin=photo.origin, taken_at=photo.taken_at, lat=photo.lat, lng=photo.lng,
        device_lat=photo.device_lat, device_lng=photo.device_lng,
        device_accuracy=photo.device_accuracy, device_at=photo.device_at,
    )  # fmt: skip


named_photos, label_photos = _named_photos, _label
# The co-handling rows' handlers register themselves (they use this module's helpers).
from fengqiao.events import part_steps  # noqa: E402, F401

if set(HANDLERS) != set(workflow.ACTIONS):  # every row of the table has its handler
    raise RuntimeError(f"no handler for {set(workflow.ACTIONS) - set(HANDLERS)}")

"""The closed loop (DESIGN.md section 5) as one transition table, and who may take each step.

Pure data and pure checks: the table decides where each step leads (`target_of`), who may take
it and what else must hold (`GUARDS`); `events.steps` does each step's own work and applies the
target through one function. docs/workflow.md is generated from it (`fengqiao docs workflow`),
and tests walk it edge by edge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from fengqiao.scope import Principal

OPEN = frozenset(
    {"reported", "accepted", "dispatched", "signed", "handled", "self_handled", "suspended"}
)
FINAL = frozenset({"closed", "rejected", "voided", "merged"})
STATES = OPEN | FINAL
# Open states from which suspension, merging and voiding make sense (a suspended event resumes
# first; a handled one waits only for its verification).
SUSPENDABLE = frozenset({"accepted", "dispatched", "signed"})

# The UI labels of the states (served to the pages with the other label tables).
STATUS_ZH = {
    "reported": "已上报", "accepted": "已受理", "dispatched": "已交办", "signed": "已签收",
    "handled": "已反馈", "closed": "已结案", "rejected": "不予受理", "self_handled": "自行处置",
    "suspended": "已挂起", "voided": "已作废", "merged": "已合并",
}  # fmt: skip

# A row's `target` is a state (the table decides), SAME (the step leaves the state as it is) or
# one of these words: the state depends on the step's data, the handler says which, and it must
# be one of the row's `outcomes`. The text is what docs/workflow.md shows for each.
SAME = "same"
HANDLER_DECIDES: dict[str, str] = {
    "previous": "the state before suspension",
    "by_outcome": "closed (ok) / signed (rework)",
    "by_request": "suspended (suspend request) / voided (void request)",
}

# Who a transition is for. Each actor kind is checked against the event in `allowed`.
Actor = Literal[
    "operator",  # an operator whose scope covers the event's grid
    "owner_handler",  # a handler of the unit that owns the event
    "reporter_worker",  # the grid worker who reported it
    "verifier",  # the reporting grid worker, or for other sources a worker of the event's grid
    "reporter",  # whoever reported it (residents rate their own reports)
    "leader",  # a leader whose scope covers the event
    "system",  # the worker itself (an IoT device's recovery); never a person
    "assist_signer",  # a handler of an assisting unit (协办) whose part waits for its signature
    "assist_handler",  # a handler of an assisting unit whose signed part waits for its feedback
]

ACTOR_ZH: dict[str, str] = {
    "operator": "辖区指挥室坐席",
    "owner_handler": "责任单位处置人员",
    "reporter_worker": "上报该事件的网格员",
    "verifier": "上报该事件的网格员（其他来源为该网格的网格员）",
    "reporter": "事件上报人",
    "leader": "辖区领导",
    "system": "系统（物联设备恢复后自动执行）",
    "assist_signer": "待签收的协办单位处置人员",
    "assist_handler": "已签收的协办单位处置人员",
}


@dataclass(frozen=True)
class Transition:
    """One row of the table: an action from some states to a target, for some actors."""

    action: str
    sources: frozenset[str]
    target: str  # a state, SAME, or a word of HANDLER_DECIDES (then see `outcomes`)
    actors: tuple[Actor, ...]
    name_zh: str
    note: str = ""
    outcomes: frozenset[str] = frozenset()  # the states a handler-decided target may be
    # The loop's next step from its source states: the event page offers it, and when the caller
    # may not take it, shows it disabled with who may.
    main: bool = False


TRANSITIONS: tuple[Transition, ...] = (
    Transition("accept", frozenset({"reported"}), "accepted", ("operator",), "受理",
               "classify, set level and urgency; routing proposes again", main=True),
    Transition("reject", frozenset({"reported"}), "rejected", ("operator",), "不予受理",
               "needs a reason"),
    Transition("self_handle", frozenset({"reported"}), "self_handled", ("reporter_worker",),
               "自行处置", "level 1 only"),
    Transition("close", frozenset({"self_handled"}), "closed", ("reporter_worker",), "办结",
               "needs a photo of the handling (`after`)", main=True),
    Transition("dispatch", frozenset({"accepted"}), "dispatched", ("operator",), "交办",
               "to the proposed unit, or another with a reason; after a return the new unit gets a fresh deadline", main=True),
    Transition("sign", frozenset({"dispatched"}), "signed", ("owner_handler",), "签收", main=True),
    Transition("return", frozenset({"dispatched", "signed"}), "accepted", ("owner_handler",),
               "回退", "wrong unit, with a reason; counts a return"),
    Transition("feedback", frozenset({"signed"}), "handled", ("owner_handler",), "反馈",
               "result and at least one `after` photo (unless the class says otherwise)", main=True),
    Transition("verify", frozenset({"handled"}), "by_outcome", ("verifier",), "核查",
               "ok → closed, with the verifier's fresh on-site photo and `confirmed`; not ok → "
               "signed, counts a rework",
               outcomes=frozenset({"closed", "signed"}), main=True),
    Transition("request_suspend", SUSPENDABLE, "same", ("owner_handler", "operator"),
               "申请挂起", "needs a reason; an operator approves"),
    Transition("request_void", OPEN - {"suspended"}, "same", ("operator",), "申请作废",
               "needs a reason; a leader approves"),
    Transition("approve", OPEN, "by_request", ("operator", "leader"), "批准",
               "suspend requests: an operator; void requests: a leader",
               outcomes=frozenset({"suspended", "voided"})),
    Transition("deny", OPEN, "same", ("operator", "leader"), "驳回申请"),
    Transition("resume", frozenset({"suspended"}), "previous", ("operator",), "恢复",
               "back to the state before the suspension; the pause does not count",
               outcomes=SUSPENDABLE, main=True),
    Transition("merge", OPEN - {"suspended"}, "merged", ("operator",), "合并",
               "into another open event of the same class"),
    Transition("rate", frozenset({"closed"}), "same", ("reporter",), "评价",
               "satisfaction 1-5, once", main=True),
    Transition("request_escalation", frozenset({"dispatched", "signed"}), "same",
               ("owner_handler",), "申请升级",
               "the unit cannot solve it alone; needs a reason; one rung up the ladder"),
    Transition("escalate", frozenset({"accepted", "dispatched", "signed"}), "same",
               ("operator", "leader"), "升级",
               "needs a reason; one rung up: unit → coordination group → town leader → district"),
    Transition("recover", frozenset({"reported", "accepted", "dispatched", "signed", "handled"}),
               "closed", ("system",), "设备恢复自动结案",
               "IoT events only: the device reported recovery and the rule that filed it allows "
               "closing by itself"),
    # 联合执法 / co-handling: the assisting units' parts (协办). The event's state stands still;
    # each part has its own state, deadline and light (events/parts.py), and the lead's
    # `feedback` waits until no part is open (its guard).
    Transition("add_assist", frozenset({"dispatched", "signed"}), "same", ("operator",), "增加协办",
               "`assist_unit_ids`: units of the event's town or district departments, not the lead; "
               "each gets its own part and deadline"),
    Transition("sign_part", frozenset({"dispatched", "signed"}), "same", ("assist_signer",),
               "协办签收", "the caller's unit signs its own part"),
    Transition("feedback_part", frozenset({"dispatched", "signed"}), "same", ("assist_handler",),
               "协办反馈", "the caller's unit's part: result and an `after` photo, as the lead's "
               "feedback needs"),
    Transition("waive_part", frozenset({"dispatched", "signed"}), "same", ("operator",),
               "免除协办", "`unit_id` of an open part and a reason; the lead may then feed back"),
)  # fmt: skip

# Actions from each state, in the table's order (`available` runs for every event of a list).
_AVAILABLE: dict[str, tuple[str, ...]] = {}
for _t in TRANSITIONS:
    for _source in _t.sources:
        _AVAILABLE[_source] = (*_AVAILABLE.get(_source, ()), _t.action)

BY_ACTION: dict[str, Transition] = {t.action: t for t in TRANSITIONS}
ACTIONS = tuple(BY_ACTION)


def target_of(transition: Transition, status: str, decided: str | None = None) -> str:
    """The state a step from `status` leads to; `decided` is the handler's word, given exactly
    when the table leaves the state to it."""
    if transition.target in HANDLER_DECIDES:
        if decided not in transition.outcomes:
            raise ValueError(f"{transition.action} cannot lead to {decided!r}")
        return decided
    if decided is not None:
        raise ValueError(f"the table decides where {transition.action} leads, not the handler")
    return status if transition.target == SAME else transition.target


@dataclass(frozen=True)
class EventFacts:
    """What the checks need to know about an event (no ORM, so the table stays testable)."""

    status: str
    grid_path: str
    source: str
    reporter_id: int
    owner_unit_id: int | None
    pending_action: str | None = None
    level: int | None = None
    satisfaction: int | None = None
    # Co-handling: the assisting units whose part waits for a signature, for a feedback, and how
    # many parts are open (neither fed back nor waived). Empty for an event with no parts.
    to_sign: frozenset[int] = frozenset()
    to_feed: frozenset[int] = frozenset()
    parts_open: int = 0


# What else must hold, beyond the state, for a step to be offered; its handler refuses the same
# cases with why.
def has_request(event: EventFacts) -> bool:
    """approve/deny: a suspend or void request is pending."""
    return event.pending_action is not None


def is_level_1(event: EventFacts) -> bool:
    """self_handle: only level-1 events are handled by the grid worker."""
    return event.level == 1


def not_rated(event: EventFacts) -> bool:
    """rate: an event is rated once."""
    return event.satisfaction is None


def parts_done(event: EventFacts) -> bool:
    """feedback: every assisting unit's part has fed back or been waived."""
    return event.parts_open == 0


def has_open_part(event: EventFacts) -> bool:
    """waive_part: some assisting unit's part is still open."""
    return event.parts_open > 0


GUARDS: dict[str, Callable[[EventFacts], bool]] = {
    "approve": has_request,
    "deny": has_request,
    "self_handle": is_level_1,
    "rate": not_rated,
    "feedback": parts_done,
    "waive_part": has_open_part,
}


def passes_guard(action: str, event: EventFacts) -> bool:
    """Whether the action's own guard (if it has one) holds for the event."""
    guard = GUARDS.get(action)
    return guard is None or guard(event)


def available(status: str) -> list[str]:
    """Actions that exist from `status`, whoever asks."""
    return list(_AVAILABLE.get(status, ()))


def is_actor(kind: Actor, principal: Principal, event: EventFacts) -> bool:
    """True when `principal` is this kind of actor for `event`."""
    if kind == "operator":
        return principal.has_any("operator") and principal.covers(event.grid_path)
    if kind == "leader":
        return principal.has_any("leader") and principal.covers(event.grid_path)
    if kind == "owner_handler":
        return (
            principal.has_any("handler")
            and event.owner_unit_id is not None
            and principal.unit_id == event.owner_unit_id
        )
    if kind == "reporter_worker":
        return principal.user_id == event.reporter_id and principal.has_any("grid_worker")
    if kind == "verifier":
        if event.source == "grid_worker":
            return principal.user_id == event.reporter_id
        return principal.has_any("grid_worker") and principal.covers(event.grid_path)
    if kind == "reporter":
        return principal.user_id == event.reporter_id
    if kind == "assist_signer":
        return principal.has_any("handler") and principal.unit_id in event.to_sign
    if kind == "assist_handler":
        return principal.has_any("handler") and principal.unit_id in event.to_feed
    if kind == "system":
        return False  # only the worker takes these steps, through its own service function
    raise ValueError(f"unknown actor kind {kind!r}")


def actors_for(transition: Transition, event: EventFacts) -> tuple[Actor, ...]:
    """The actor kinds that may take `transition` on this event (approvals depend on the request)."""
    if transition.action in ("approve", "deny"):
        return ("leader",) if event.pending_action == "void" else ("operator",)
    return transition.actors


def workflow_markdown() -> str:
    """The transition table as a Markdown table (docs/workflow.md embeds this output)."""
    lines = [
        "| action | 操作 | from | to | who | guard | notes |",
        "|---|---|---|---|---|---|---|",
    ]
    order = [s for s in ("reported", "accepted", "dispatched", "signed", "handled",
                         "self_handled", "suspended", "closed")]  # fmt: skip
    for t in TRANSITIONS:
        sources = ", ".join(s for s in order if s in t.sources)
        target = {SAME: "(unchanged)", **HANDLER_DECIDES}.get(t.target, t.target)
        who = " or ".join(t.actors)
        if t.action in ("approve", "deny"):
            who = "operator (suspend request) / leader (void request)"
        guard = GUARDS.get(t.action)
        when = f"`{guard.__name__}`" if guard is not None else ""
        lines.append(
            f"| `{t.action}` | {t.name_zh} | {sources} | {target} | {who} | {when} | {t.note} |"
        )
    return "\n".join(lines) + "\n"

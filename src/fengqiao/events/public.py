"""What of an event's trail a resident may see: its public steps, in plain words.

One definition for every resident-facing view: the resident app's timeline (我的上报), the public
map's status, and Open311's `servicerequestupdates` with FixMyStreet's extended statuses. A trail
row is public when its action (and, for steps whose target the handler decides, the state it led
to) is in `PUBLIC_STEPS`; everything else (signing, returns, escalations, reminders, red lights,
supervision, alarms, calls, staff notes) stays inside. A public step never carries a staff
member's name, a hash or an internal note: only fixed words, a unit's name, the code of the
event a report was merged into, and for 不予受理 the reason the operator gave the reporter.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

# FixMyStreet's extended statuses (Open311 `extended_attributes`, servicerequestupdates), so a
# rejected, voided or merged report does not read as fixed.
ExtendedStatus = Literal[
    "OPEN", "INVESTIGATING", "IN_PROGRESS", "ACTION_SCHEDULED", "FIXED", "CLOSED",
    "DUPLICATE", "NOT_RESPONSIBLE", "NO_FURTHER_ACTION",
]  # fmt: skip


@dataclass(frozen=True)
class PublicStep:
    """One kind of public step: a key for code and tests, the words a resident reads (with
    `{unit}` or `{into}` filled in), and the Open311 status it stands for."""

    key: str
    words: str
    open311: Literal["open", "closed"]
    extended: ExtendedStatus


# (action, state the row led to or None for any) → the public step. Steps whose target the
# handler decides (verify, approve) are told apart by the state they led to.
PUBLIC_STEPS: dict[tuple[str, str | None], PublicStep] = {
    ("report", None): PublicStep("submitted", "已提交", "open", "OPEN"),
    ("accept", None): PublicStep("accepted", "已受理", "open", "INVESTIGATING"),
    ("dispatch", None): PublicStep("dispatched", "交办至{unit}", "open", "ACTION_SCHEDULED"),
    ("self_handle", None): PublicStep("handling", "网格员现场处置", "open", "IN_PROGRESS"),
    ("feedback", None): PublicStep("handled", "处置完成，待核查", "open", "IN_PROGRESS"),
    ("verify", "closed"): PublicStep("closed", "已核查结案", "closed", "FIXED"),
    ("close", None): PublicStep("closed", "已处置结案", "closed", "FIXED"),
    ("recover", None): PublicStep("closed", "设备恢复正常，已结案", "closed", "FIXED"),
    ("reject", None): PublicStep("rejected", "不予受理", "closed", "NOT_RESPONSIBLE"),
    ("approve", "voided"): PublicStep("voided", "已作废", "closed", "NO_FURTHER_ACTION"),
    ("approve", "suspended"): PublicStep("suspended", "暂缓处理", "open", "IN_PROGRESS"),
    ("resume", None): PublicStep("resumed", "恢复处理", "open", "IN_PROGRESS"),
    ("merge", None): PublicStep("merged", "已合并至{into}", "closed", "DUPLICATE"),
}

# The public status of an event by its state: what the public map and a report's header say.
PUBLIC_STATUS_ZH: dict[str, str] = {
    "reported": "已提交",
    "accepted": "已受理",
    "dispatched": "处理中",
    "signed": "处理中",
    "handled": "处理中",
    "self_handled": "处理中",
    "suspended": "暂缓处理",
    "closed": "已解决",
    "rejected": "不予受理",
    "voided": "已作废",
    "merged": "已合并",
}
# The public statuses by key, for filters: a state maps to one of these.
PUBLIC_STATUS_OF_STATE: dict[str, str] = {
    "reported": "submitted",
    "accepted": "accepted",
    "dispatched": "in_progress",
    "signed": "in_progress",
    "handled": "in_progress",
    "self_handled": "in_progress",
    "suspended": "in_progress",
    "closed": "fixed",
    "rejected": "closed_unfixed",
    "voided": "closed_unfixed",
    "merged": "closed_unfixed",
}
PUBLIC_STATUS_KEYS_ZH: dict[str, str] = {
    "submitted": "已提交",
    "accepted": "已受理",
    "in_progress": "处理中",
    "fixed": "已解决",
    "closed_unfixed": "已关闭",
}


# The kinds of photo a resident may see, in their words (a verifier's photo stays inside unless
# staff mark it public; it then reads as 处理后).
PUBLIC_PHOTO_KIND_ZH: dict[str, str] = {
    "report": "您拍的照片",
    "before": "处理前",
    "after": "处理后",
    "verify": "处理后",
    "evidence": "处理后",
    "near": "处理后",
    "far": "处理后",
}
# Which side of the before/after pair a photo stands on.
PHOTO_SIDE: dict[str, str] = {"report": "before", "before": "before"}


def public_step(action: str, to_status: str) -> PublicStep | None:
    """The public step a trail row stands for, or None when the row stays inside."""
    return PUBLIC_STEPS.get((action, to_status)) or PUBLIC_STEPS.get((action, None))


def public_words(
    step: PublicStep, *, unit_name: str = "", payload: Mapping[str, Any] | None = None
) -> str:
    """The words a resident reads for a step: a dispatch names the unit (or says 相关部门), a
    merge the code of the event it joined."""
    into = str((payload or {}).get("into_code") or "")
    return step.words.format(unit=unit_name or "相关部门", into=into or "其他上报")


def public_note(action: str, note: str) -> str:
    """The free text a resident may read with a step: only a rejection's reason, which the
    operator gives for the reporter (the reject form says so). Every other note is staff's."""
    return note if action == "reject" else ""

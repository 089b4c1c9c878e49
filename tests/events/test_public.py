"""The public view of the trail: which steps a resident sees and in what words."""

from fengqiao.events.public import (
    PUBLIC_STATUS_OF_STATE,
    PUBLIC_STATUS_ZH,
    PUBLIC_STEPS,
    public_note,
    public_step,
    public_words,
)
from fengqiao.events.workflow import BY_ACTION, STATUS_ZH


def test_every_public_step_is_a_step_of_the_trail() -> None:
    filing_only = {"report"}
    for action, state in PUBLIC_STEPS:
        assert action in BY_ACTION or action in filing_only, action
        assert state is None or state in STATUS_ZH


def test_internal_steps_stay_inside() -> None:
    for action in ("sign", "return", "escalate", "request_escalation", "remind", "overdue",
                   "supervise", "alarm_ack", "video_call", "deny", "request_void"):  # fmt: skip
        assert public_step(action, "signed") is None, action
    # verify that sends the work back is a rework, not a public step; the one that closes is.
    assert public_step("verify", "signed") is None
    closed = public_step("verify", "closed")
    assert closed and closed.extended == "FIXED"


def test_rejected_voided_and_merged_do_not_read_as_fixed() -> None:
    for action, state in (("reject", "rejected"), ("approve", "voided"), ("merge", "merged")):
        step = public_step(action, state)
        assert step and step.open311 == "closed" and step.extended != "FIXED", action


def test_words_name_the_unit_and_the_merged_code_only() -> None:
    dispatched = public_step("dispatch", "dispatched")
    assert dispatched
    assert public_words(dispatched, unit_name="柯桥街道城管中队") == "交办至柯桥街道城管中队"
    assert public_words(dispatched) == "交办至相关部门"
    merged = public_step("merge", "merged")
    assert merged
    assert public_words(merged, payload={"into": 7, "into_code": "E1"}) == "已合并至E1"
    assert public_note("reject", "不属于本辖区") == "不属于本辖区"
    assert public_note("feedback", "内部备注") == ""


def test_every_state_has_a_public_status() -> None:
    assert set(PUBLIC_STATUS_ZH) == set(STATUS_ZH) == set(PUBLIC_STATUS_OF_STATE)

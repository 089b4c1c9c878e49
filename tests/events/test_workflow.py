"""The transition table, edge by edge, and who counts as which actor (pure, no database)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fengqiao.events import workflow
from fengqiao.events.workflow import EventFacts, available, is_actor, workflow_markdown
from fengqiao.scope import Principal

DOCS = Path(__file__).resolve().parents[2] / "docs"

# DESIGN.md section 5, written out independently of the table in the code.
EDGES = {
    ("reported", "accept"), ("reported", "reject"), ("reported", "self_handle"),
    ("accepted", "dispatch"), ("dispatched", "sign"), ("dispatched", "return"),
    ("signed", "return"), ("signed", "feedback"), ("handled", "verify"),
    ("self_handled", "close"), ("closed", "rate"), ("suspended", "resume"),
}  # fmt: skip


def test_the_main_road_and_exception_paths_exist() -> None:
    for state, action in EDGES:
        assert action in available(state), (state, action)
    for state in workflow.FINAL - {"closed"}:
        assert available(state) == []
    assert available("closed") == ["rate"]
    for state in workflow.OPEN - {"suspended"}:
        assert {"merge", "request_void"} <= set(available(state))
    assert "merge" not in available("suspended")


def test_no_action_leaves_a_final_state_except_rating() -> None:
    for transition in workflow.TRANSITIONS:
        assert transition.sources <= workflow.STATES
        if transition.action != "rate":
            assert not transition.sources & workflow.FINAL


def _principal(
    user_id: int, *roles: str, home: str = "/1/2/", unit: int | None = None
) -> Principal:
    return Principal(user_id, f"u{user_id}", "name", frozenset(roles), 0, home, unit)


EVENT = EventFacts(status="handled", grid_path="/1/2/3/4/", source="grid_worker", reporter_id=10,
                   owner_unit_id=50)  # fmt: skip


@pytest.mark.parametrize(
    ("kind", "principal", "expected"),
    [
        ("operator", _principal(1, "operator"), True),
        ("operator", _principal(1, "operator", home="/1/9/"), False),  # another town
        ("operator", _principal(1, "leader"), False),
        ("leader", _principal(1, "leader", home="/1/"), True),
        ("owner_handler", _principal(2, "handler", unit=50), True),
        ("owner_handler", _principal(2, "handler", unit=51), False),
        ("owner_handler", _principal(2, "operator", unit=50), False),
        ("reporter_worker", _principal(10, "grid_worker", home="/1/2/3/4/"), True),
        ("reporter_worker", _principal(11, "grid_worker", home="/1/2/3/4/"), False),
        ("verifier", _principal(10, "grid_worker", home="/1/2/3/4/"), True),
        # Same grid, but a grid worker's own report is verified by that worker only.
        ("verifier", _principal(11, "grid_worker", home="/1/2/3/4/"), False),
        ("reporter", _principal(10, "resident", home="/1/2/3/"), True),
    ],
)
def test_actor_kinds(kind: workflow.Actor, principal: Principal, expected: bool) -> None:
    assert is_actor(kind, principal, EVENT) is expected


def test_other_sources_are_verified_by_the_grids_workers() -> None:
    resident_report = EventFacts(status="handled", grid_path="/1/2/3/4/", source="resident",
                                 reporter_id=99, owner_unit_id=50)  # fmt: skip
    assert is_actor("verifier", _principal(11, "grid_worker", home="/1/2/3/4/"), resident_report)
    assert not is_actor(
        "verifier", _principal(12, "grid_worker", home="/1/2/3/5/"), resident_report
    )
    assert not is_actor("verifier", _principal(13, "operator", home="/1/2/3/4/"), resident_report)


def test_approvals_go_to_the_right_role() -> None:
    approve = workflow.BY_ACTION["approve"]
    suspend = EventFacts("dispatched", "/1/2/3/4/", "resident", 1, 50, pending_action="suspend")
    void = EventFacts("dispatched", "/1/2/3/4/", "resident", 1, 50, pending_action="void")
    assert workflow.actors_for(approve, suspend) == ("operator",)
    assert workflow.actors_for(approve, void) == ("leader",)


def test_docs_hold_the_generated_table() -> None:
    text = (DOCS / "workflow.md").read_text(encoding="utf-8")
    start = text.index("<!-- workflow-table:start -->\n") + len("<!-- workflow-table:start -->\n")
    end = text.index("<!-- workflow-table:end -->")
    assert text[start:end] == workflow_markdown(), "run: fengqiao docs workflow"

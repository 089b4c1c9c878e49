"""The check of a report's answers against its class's extra questions (pure)."""

from __future__ import annotations

import pytest

from fengqiao.errors import Problem
from fengqiao.taxonomy.questions import ClassIntake, Question, check_answers, describe

INTAKE = ClassIntake(
    category_code="0901",
    questions=(
        Question("river", "string", True, "河道名称", 0),
        Question("appearance", "multivaluelist", False, "水体异常", 1,
                 (("black", "黑臭"), ("foam", "泡沫"))),
        Question("extent_m", "number", False, "影响长度（米）", 2),
        Question("seen_at", "datetime", False, "发现时间", 3),
        Question("kind", "singlevaluelist", False, "类型", 4, (("a", "甲"), ("b", "乙"))),
    ),
    keywords=("河长通",),
)  # fmt: skip


def refused(answers: dict[str, object]) -> dict[str, str]:
    with pytest.raises(Problem) as caught:
        check_answers(INTAKE, answers, class_name="河道水体污染")
    assert caught.value.status == 422
    return {e.field: e.reason_zh for e in caught.value.errors}


def test_good_answers_are_stored_typed_and_in_question_order() -> None:
    stored = check_answers(
        INTAKE,
        {"extent_m": "120", "river": " 瓜渚湖直江 ", "appearance": "foam",
         "seen_at": "2026-11-29T09:30+08:00", "kind": "b"},
    )  # fmt: skip
    assert list(stored) == ["river", "appearance", "extent_m", "seen_at", "kind"]
    assert stored == {
        "river": "瓜渚湖直江", "appearance": ["foam"], "extent_m": 120.0,
        "seen_at": "2026-11-29T09:30:00+08:00", "kind": "b",
    }  # fmt: skip
    assert describe(INTAKE, stored) == [
        ("河道名称", "瓜渚湖直江"), ("水体异常", "泡沫"), ("影响长度（米）", "120"),
        ("发现时间", "2026-11-29T09:30:00+08:00"), ("类型", "乙"),
    ]  # fmt: skip


def test_every_bad_answer_is_named_at_once() -> None:
    reasons = refused(
        {"appearance": ["black", "purple"], "extent_m": "far", "seen_at": "2026-11-29 09:30",
         "kind": "c", "colour": "red"},
    )  # fmt: skip
    assert set(reasons) == {
        "answers.river", "answers.appearance", "answers.extent_m", "answers.seen_at",
        "answers.kind", "answers.colour",
    }  # fmt: skip
    assert reasons["answers.river"] == "必填：河道名称"
    assert "purple" in reasons["answers.appearance"]
    assert "不是数字" in reasons["answers.extent_m"]
    assert "时区" in reasons["answers.seen_at"]
    assert "没有问题" in reasons["answers.colour"]


@pytest.mark.parametrize("value", ["nan", "inf", "-inf"])
def test_numbers_must_be_finite(value: str) -> None:
    assert "answers.extent_m" in refused({"river": "x", "extent_m": value})


def test_a_class_without_questions_takes_no_answers() -> None:
    assert check_answers(None, {}) == {}
    with pytest.raises(Problem):
        check_answers(None, {"anything": "x"})


def test_text_is_capped() -> None:
    assert "最多 200" in refused({"river": "河" * 201})["answers.river"]


def test_a_machine_is_not_asked_required_questions_but_its_answers_are_checked() -> None:
    assert check_answers(INTAKE, {"extent_m": "5"}, enforce_required=False) == {"extent_m": 5.0}
    with pytest.raises(Problem) as caught:
        check_answers(INTAKE, {"extent_m": "far"}, enforce_required=False)
    assert [e.field for e in caught.value.errors] == ["answers.extent_m"]

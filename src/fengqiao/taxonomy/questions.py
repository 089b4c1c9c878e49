"""Extra questions per class and the check of a report's answers: pure, so filing checks them
from the in-memory rules snapshot without a query. The datatypes are Open311's own, so a class's
questions are also its GeoReport v2 service definition."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fengqiao.errors import FieldError, Problem

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
DATATYPE_ZH = {
    "string": "短文本", "number": "数字", "datetime": "日期时间", "text": "长文本",
    "singlevaluelist": "单选", "multivaluelist": "多选",
}  # fmt: skip
LIST_TYPES = frozenset({"singlevaluelist", "multivaluelist"})
MAX_LENGTH = {"string": 200, "text": 2000}

Answer = str | float | list[str]


@dataclass(frozen=True)
class Question:
    """One extra question asked when a class is reported."""

    code: str  # attribute code, [a-z0-9_]+
    datatype: str  # one of DATATYPES
    required: bool
    description: str  # the question, Chinese
    order: int
    values: tuple[tuple[str, str], ...] = ()  # (key, name) for the list types

    def value_name(self, key: str) -> str:
        return next((name for k, name in self.values if k == key), key)


@dataclass(frozen=True)
class ClassIntake:
    """What a class asks beyond the common fields, and the words it is found by."""

    category_code: str
    questions: tuple[Question, ...]
    keywords: tuple[str, ...]  # business modules (河长通 …) and search words


def _error(code: str, reason: str, reason_zh: str) -> FieldError:
    return FieldError(f"answers.{code}", reason, reason_zh)


def _one(question: Question, raw: object) -> tuple[Answer | None, FieldError | None]:
    """The stored form of one answer, or why it is refused."""
    code, kind = question.code, question.datatype
    if kind == "multivaluelist":
        items = [raw] if isinstance(raw, str) else raw
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            return None, _error(code, "a list of option keys", "应为选项键的列表")
        keys = [i.strip() for i in items if i.strip()]
        unknown = [k for k in keys if k not in dict(question.values)]
        if unknown:
            return None, _error(
                code,
                f"unknown option(s) {', '.join(unknown)}; options: "
                + ", ".join(k for k, _ in question.values),
                f"选项 {'、'.join(unknown)} 不存在；可选："
                + "、".join(f"{k}（{n}）" for k, n in question.values),
            )
        return list(dict.fromkeys(keys)), None
    if not isinstance(raw, (str, int, float)) or isinstance(raw, bool):
        return None, _error(code, "a single value", "应为单个值")
    text = str(raw).strip()
    if kind == "number":
        try:
            number = float(text)
        except ValueError:
            return None, _error(code, f"{text!r} is not a number", f"「{text}」不是数字")
        if not math.isfinite(number):
            return None, _error(code, "a finite number", "应为有限数字")
        return number, None
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None, _error(
                code, "an ISO-8601 date-time, e.g. 2026-11-29T09:30+08:00",
                "应为 ISO-8601 日期时间，如 2026-11-29T09:30+08:00",
            )  # fmt: skip
        if moment.tzinfo is None:
            return None, _error(
                code, "a date-time with its UTC offset, e.g. +08:00", "日期时间须带时区，如 +08:00"
            )
        return moment.isoformat(), None
    if kind == "singlevaluelist":
        if text not in dict(question.values):
            return None, _error(
                code,
                f"unknown option {text!r}; options: " + ", ".join(k for k, _ in question.values),
                f"选项「{text}」不存在；可选："
                + "、".join(f"{k}（{n}）" for k, n in question.values),
            )
        return text, None
    limit = MAX_LENGTH[kind]
    if len(text) > limit:
        return None, _error(code, f"at most {limit} characters", f"最多 {limit} 个字")
    return text, None


def check_answers(
    intake: ClassIntake | None,
    answers: Mapping[str, object],
    *,
    class_name: str = "",
    enforce_required: bool = True,
) -> dict[str, Answer]:
    """The answers as stored, in question order; every unknown, malformed or missing required
    answer is named at once in one 422. A machine (a sensor) cannot answer a person's questions:
    for it `enforce_required` is off, and what it does answer is still checked."""
    questions: Sequence[Question] = intake.questions if intake else ()
    by_code = {q.code: q for q in questions}
    errors: list[FieldError] = []
    for code in answers:
        if code not in by_code:
            asked = ", ".join(by_code) or "none"
            errors.append(
                _error(
                    code,
                    f"this class asks no question {code!r} (asked: {asked})",
                    f"{class_name or '该分类'}没有问题「{code}」（可答：{'、'.join(by_code) or '无'}）",
                )
            )
    stored: dict[str, Answer] = {}
    for question in questions:
        raw: Any = answers.get(question.code)
        if raw is None or raw == "" or raw == []:
            if question.required and enforce_required:
                errors.append(
                    _error(
                        question.code, f"required: {question.description}",
                        f"必填：{question.description}",
                    )
                )  # fmt: skip
            continue
        value, error = _one(question, raw)
        if error is not None:
            errors.append(error)
        elif value is not None:
            stored[question.code] = value
    if errors:
        raise Problem(
            status=422,
            slug="invalid-input",
            title="Invalid input",
            title_zh="输入有误",
            detail="; ".join(f"{e.field}: {e.reason}" for e in errors),
            detail_zh="；".join(f"{e.field}：{e.reason_zh}" for e in errors),
            errors=errors,
        )
    return stored


def describe(intake: ClassIntake | None, answers: Mapping[str, Answer]) -> list[tuple[str, str]]:
    """(question, answer) in Chinese for the event card; answers to retired questions keep their
    code as the question."""
    by_code = {q.code: q for q in intake.questions} if intake else {}
    shown: list[tuple[str, str]] = []
    for code, value in answers.items():
        question = by_code.get(code)
        label = question.description if question else code
        if isinstance(value, list):
            text = "、".join(question.value_name(v) if question else v for v in value)
        elif question is not None and question.datatype == "singlevaluelist":
            text = question.value_name(str(value))
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            text = str(value)
        shown.append((label, text))
    return shown

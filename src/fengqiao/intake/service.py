"""Business modules as intake presets: loading and editing them (administrators), and checklist
runs — a river chief walks a reach, ticks each item, and every failed item becomes an event of
its class in the one event center, in the run's own transaction."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from importlib import resources
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from fengqiao.db import utcnow
from fengqiao.errors import FieldError, Problem, forbidden, invalid, not_found
from fengqiao.events import filing
from fengqiao.events.schemas import EventCreate
from fengqiao.geo.service import Place
from fengqiao.intake.models import ChecklistRun
from fengqiao.patrol.models import Patrol
from fengqiao.scope import Principal, in_scope
from fengqiao.taxonomy.intakes import class_intakes, question_of
from fengqiao.taxonomy.models import Category, IntakeModule, IntakeQuestion
from fengqiao.taxonomy.questions import DATATYPES, LIST_TYPES, ClassIntake, Question
from fengqiao.taxonomy.snapshot import Rules, rules_changed

__all__ = [
    "ClassIntake",
    "Question",
    "class_intakes",
    "import_intake",
    "list_modules",
    "set_questions",
    "submit_checklist",
]

CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
REPORTERS = ("grid_worker", "grid_leader")


@dataclass
class IntakeReport:
    modules: int
    questions: int


def shipped() -> dict[str, Any]:
    """The modules and questions shipped in this package (modules.json)."""
    text = resources.files("fengqiao.intake").joinpath("modules.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def _bad(errors: list[FieldError]) -> Problem:
    return Problem(
        422, "invalid-input", "Invalid input", "输入有误",
        "; ".join(f"{e.field}: {e.reason}" for e in errors),
        "；".join(f"{e.field}：{e.reason_zh}" for e in errors), errors=errors,
    )  # fmt: skip


def _check_questions(field: str, rows: Sequence[dict[str, Any]]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"{field}[{i}]"
        code = str(row.get("code", ""))
        if not CODE_RE.match(code):
            errors.append(FieldError(f"{where}.code", "lower-case letters, digits and _, "
                                     "starting with a letter, at most 32",
                                     "须为小写字母、数字和下划线，字母开头，最多32位"))  # fmt: skip
        elif code in seen:
            errors.append(FieldError(f"{where}.code", f"{code!r} twice", f"问题编码 {code} 重复"))
        seen.add(code)
        if row.get("datatype") not in DATATYPES:
            errors.append(FieldError(f"{where}.datatype", f"one of {', '.join(DATATYPES)}",
                                     f"须为 {'、'.join(DATATYPES)} 之一"))  # fmt: skip
        if not str(row.get("description", "")).strip():
            errors.append(FieldError(f"{where}.description", "the question is missing", "缺少问题"))
        values = row.get("values") or []
        if row.get("datatype") in LIST_TYPES and (
            not values
            or not all(isinstance(v, (list, tuple)) and len(v) == 2 for v in values)
            or len({str(v[0]) for v in values}) != len(values)
        ):
            errors.append(FieldError(f"{where}.values", "a list of distinct [key, name] options",
                                     "选择题须给出不重复的 [键，名称] 选项"))  # fmt: skip
    return errors


def _question_rows(category_code: str, rows: Sequence[dict[str, Any]]) -> list[IntakeQuestion]:
    return [
        IntakeQuestion(
            category_code=category_code,
            code=row["code"],
            position=i,
            datatype=row["datatype"],
            required=bool(row.get("required", False)),
            description=str(row["description"]).strip(),
            values=[[str(k), str(n)] for k, n in row.get("values") or []],
        )
        for i, row in enumerate(rows)
    ]


def import_intake(*, db: Session, data: dict[str, Any] | None = None) -> IntakeReport:
    """Insert or update the modules and replace the questions of every class the data names;
    everything is checked before anything is written."""
    data = data if data is not None else shipped()
    classes = set(db.scalars(select(Category.code)))
    errors: list[FieldError] = []
    modules = data.get("modules", [])
    for i, module in enumerate(modules):
        if not CODE_RE.match(str(module.get("code", ""))):
            errors.append(FieldError(f"modules[{i}].code", "lower-case letters, digits and _",
                                     "须为小写字母、数字和下划线"))  # fmt: skip
        for code in module.get("categories", []):
            if code not in classes:
                errors.append(FieldError(f"modules[{i}].categories", f"unknown class {code!r}",
                                         f"事件分类 {code} 不存在"))  # fmt: skip
        for j, item in enumerate(module.get("checklist", [])):
            if item.get("category") not in classes:
                errors.append(FieldError(f"modules[{i}].checklist[{j}].category",
                                         f"unknown class {item.get('category')!r}",
                                         f"事件分类 {item.get('category')} 不存在"))  # fmt: skip
            if not CODE_RE.match(str(item.get("code", ""))) or not item.get("text"):
                errors.append(FieldError(f"modules[{i}].checklist[{j}]", "needs a code and a text",
                                         "检查项须有编码和内容"))  # fmt: skip
    questions: dict[str, list[dict[str, Any]]] = data.get("questions", {})
    for code, rows in questions.items():
        if code not in classes:
            errors.append(
                FieldError(f"questions.{code}", "unknown class", f"事件分类 {code} 不存在")
            )
        errors += _check_questions(f"questions.{code}", rows)
    if errors:
        raise _bad(errors)
    existing = {m.code: m for m in db.scalars(select(IntakeModule))}
    for position, row in enumerate(modules):
        module = existing.get(row["code"]) or IntakeModule(code=row["code"])
        module.name_zh = row["name_zh"]
        module.description = row.get("description", "")
        module.position = position
        module.active = row.get("active", True)
        module.categories = list(row.get("categories", []))
        module.keywords = list(row.get("keywords", []))
        module.checklist = [dict(item) for item in row.get("checklist", [])]
        module.checklist_title = row.get("checklist_title", "")
        module.subject_label = row.get("subject_label", "")
        module.subject_question = row.get("subject_question")
        db.add(module)
    for code, rows in questions.items():
        db.execute(delete(IntakeQuestion).where(IntakeQuestion.category_code == code))
        db.flush()
        db.add_all(_question_rows(code, rows))
    _touch(db, [*questions, *(c for m in modules for c in m.get("categories", []))])
    db.flush()
    rules_changed(db)
    return IntakeReport(
        modules=len(modules), questions=sum(len(rows) for rows in questions.values())
    )


def _touch(db: Session, category_codes: Sequence[str]) -> None:
    """A class's questions or modules changed: so has what it offers (Open311's changeset)."""
    if category_codes:
        db.execute(
            update(Category)
            .where(Category.code.in_(sorted(set(category_codes))))
            .values(updated_at=utcnow())
        )


def list_modules(*, db: Session, active_only: bool = True) -> list[IntakeModule]:
    statement = select(IntakeModule).order_by(IntakeModule.position, IntakeModule.code)
    if active_only:
        statement = statement.where(IntakeModule.active.is_(True))
    return list(db.scalars(statement))


def get_module(*, db: Session, code: str) -> IntakeModule:
    module = db.get(IntakeModule, code)
    if module is None or not module.active:
        raise not_found(f"business module {code}", f"业务模块 {code}")
    return module


def set_questions(
    *, db: Session, category_code: str, rows: Sequence[dict[str, Any]]
) -> list[Question]:
    """Replace one class's extra questions (administrators); events filed before keep their
    answers as filed."""
    if db.get(Category, category_code) is None:
        raise not_found(f"class {category_code}", f"事件分类 {category_code}")
    errors = _check_questions("questions", rows)
    if errors:
        raise _bad(errors)
    db.execute(delete(IntakeQuestion).where(IntakeQuestion.category_code == category_code))
    db.flush()
    _touch(db, [category_code])
    stored = _question_rows(category_code, rows)
    db.add_all(stored)
    db.flush()
    rules_changed(db)
    return [question_of(row) for row in stored]


# --- checklists ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ItemOutcome:
    code: str
    ok: bool
    note: str = ""
    answers: dict[str, str | list[str]] = field(default_factory=dict)


def submit_checklist(
    *,
    db: Session,
    rules: Rules,
    place: Place,
    principal: Principal,
    module_code: str,
    subject: str,
    outcomes: Sequence[ItemOutcome],
    now: datetime,
    patrol_id: int | None = None,
    idempotency_key: str | None = None,
) -> tuple[ChecklistRun, bool]:
    """Store one checklist run and file one event per failed item; (run, created). A retry with
    the same key returns the first run and files nothing again."""
    principal.require_role(*REPORTERS)
    if idempotency_key:
        existing = db.scalar(
            select(ChecklistRun).where(
                ChecklistRun.user_id == principal.user_id,
                ChecklistRun.idempotency_key == idempotency_key,
            )
        )
        if existing is not None:
            return existing, False
    module = get_module(db=db, code=module_code)
    items = {item["code"]: item for item in module.checklist or []}
    if not items:
        raise invalid("module", f"{module.name_zh} has no checklist", f"{module.name_zh}没有检查表")
    errors: list[FieldError] = []
    given = {o.code: o for o in outcomes}
    for i, outcome in enumerate(outcomes):
        if outcome.code not in items:
            errors.append(FieldError(f"items[{i}].code", f"no item {outcome.code!r} in the list",
                                     f"检查表中没有「{outcome.code}」"))  # fmt: skip
        elif not outcome.ok and not outcome.note.strip():
            errors.append(FieldError(f"items[{i}].note", "say what is wrong", "请说明发现的问题"))
    missing = [code for code in items if code not in given]
    if missing:
        errors.append(FieldError("items", f"unanswered: {', '.join(missing)}",
                                 "以下检查项未填写：" + "；".join(f"「{items[c]['text']}」" for c in missing)))  # fmt: skip
    if len(given) != len(outcomes):
        errors.append(FieldError("items", "an item is answered twice", "有检查项重复填写"))
    if errors:
        raise _bad(errors)
    if patrol_id is not None:
        patrol = db.get(Patrol, patrol_id)
        if patrol is None or patrol.user_id != principal.user_id:
            raise invalid("patrol_id", "not one of your patrols", "不是您本人的巡查")
    stored_items: list[dict[str, Any]] = []
    position = {o.code: i for i, o in enumerate(outcomes)}
    for code, item in items.items():
        outcome = given[code]
        row: dict[str, Any] = {"code": code, "text": item["text"], "ok": outcome.ok,
                               "note": outcome.note.strip()}  # fmt: skip
        if not outcome.ok:
            try:
                row["event_id"] = _file_problem(
                    db=db, rules=rules, place=place, principal=principal, module=module,
                    item=item, subject=subject, note=outcome.note.strip(), now=now,
                    answers=outcome.answers,
                    key=f"{idempotency_key}:{code}" if idempotency_key else None,
                )  # fmt: skip
            except Problem as problem:
                # Say which item's answers are wrong; the whole run is refused (rolled back).
                where = f"items[{position[code]}]"
                for error in problem.errors:
                    error.field = f"{where}.{error.field}"
                problem.detail = f"{where}: {problem.detail}"
                problem.detail_zh = f"「{item['text']}」：{problem.detail_zh}"
                raise
        stored_items.append(row)
    run = ChecklistRun(
        module_code=module.code,
        user_id=principal.user_id,
        patrol_id=patrol_id,
        subject=subject,
        lat=place.lat,
        lng=place.lng,
        grid_id=place.grid_id,
        grid_path=rules.grid_path(
            town_id=place.town_id, village_id=place.village_id, grid_id=place.grid_id
        ),
        at=now,
        items=stored_items,
        problems=sum(1 for row in stored_items if not row["ok"]),
        idempotency_key=idempotency_key,
    )
    db.add(run)
    db.flush()
    return run, True


def _file_problem(
    *,
    db: Session,
    rules: Rules,
    place: Place,
    principal: Principal,
    module: IntakeModule,
    item: dict[str, Any],
    subject: str,
    note: str,
    now: datetime,
    answers: dict[str, str | list[str]],
    key: str | None,
) -> int:
    """File the event of one failed checklist item; the run's subject answers the class's
    subject question (the river reach for 河长通) when the class asks it."""
    category = item["category"]
    answers = dict(answers)
    intake = rules.intakes.get(category)
    if (
        module.subject_question
        and intake
        and any(q.code == module.subject_question for q in intake.questions)
    ):
        answers.setdefault(module.subject_question, subject)
    data = EventCreate(
        source="grid_worker",
        category=category,
        title=f"{module.name_zh}：{item['text']}"[:200],
        description=f"{module.checklist_title or module.name_zh}（{subject}）："
        f"「{item['text']}」未通过。{note}"[:4000],
        lat=place.lat,
        lng=place.lng,
        answers=answers,
    )
    event, _, _ = filing.file_or_replay(
        db=db, idempotency_key=key, principal=principal, rules=rules, place=place, data=data,
        now=now,
    )  # fmt: skip
    return event.id


def list_checklists(
    *, db: Session, principal: Principal, module_code: str | None = None, limit: int = 50,
    offset: int = 0,
) -> tuple[list[ChecklistRun], int]:  # fmt: skip
    """Checklist runs in the caller's area (a grid worker: their own), newest first."""
    statement = select(ChecklistRun)
    if principal.has_any("operator", "leader", "admin", "grid_leader"):
        statement = statement.where(in_scope(principal, ChecklistRun.grid_path))
    elif principal.has_any(*REPORTERS):
        statement = statement.where(ChecklistRun.user_id == principal.user_id)
    else:
        raise forbidden("checklists are for grid staff and the command room",
                        "检查记录仅对网格人员和指挥室开放")  # fmt: skip
    if module_code:
        statement = statement.where(ChecklistRun.module_code == module_code)
    total = db.scalar(select(func.count()).select_from(statement.subquery())) or 0
    rows = db.scalars(
        statement.order_by(ChecklistRun.at.desc(), ChecklistRun.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return list(rows), total


def get_checklist(*, db: Session, principal: Principal, run_id: int) -> ChecklistRun:
    run = db.get(ChecklistRun, run_id)
    if run is None:
        raise not_found(f"checklist run {run_id}", "检查记录")
    own = run.user_id == principal.user_id
    if not own and not (
        principal.has_any("operator", "leader", "admin", "grid_leader")
        and principal.covers(run.grid_path)
    ):
        raise not_found(f"checklist run {run_id}", "检查记录")
    return run

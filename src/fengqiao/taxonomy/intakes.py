"""Reading the intake presets into the shapes filing and Open311 use (no writes here, so the
rules snapshot can load it without importing the editing code)."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.taxonomy.models import IntakeModule, IntakeQuestion
from fengqiao.taxonomy.questions import ClassIntake, Question


def question_of(row: IntakeQuestion) -> Question:
    return Question(
        code=row.code,
        datatype=row.datatype,
        required=row.required,
        description=row.description,
        order=row.position,
        values=tuple((str(k), str(n)) for k, n in row.values or ()),
    )


def class_intakes(db: Session) -> dict[str, ClassIntake]:
    """Every class's extra questions and search words (business modules offering it and their
    keywords); classes with neither are absent."""
    questions: dict[str, list[Question]] = defaultdict(list)
    for row in db.scalars(
        select(IntakeQuestion).order_by(IntakeQuestion.category_code, IntakeQuestion.position)
    ):
        questions[row.category_code].append(question_of(row))
    keywords: dict[str, list[str]] = defaultdict(list)
    for module in db.scalars(
        select(IntakeModule).where(IntakeModule.active.is_(True)).order_by(IntakeModule.position)
    ):
        for code in module.categories or ():
            for word in (module.name_zh, *(module.keywords or ())):
                if word not in keywords[code]:
                    keywords[code].append(word)
    return {
        code: ClassIntake(
            category_code=code,
            questions=tuple(questions.get(code, ())),
            keywords=tuple(keywords.get(code, ())),
        )
        for code in sorted(set(questions) | set(keywords))
    }

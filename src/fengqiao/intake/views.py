"""The intake API: business modules, each class's extra questions, and checklist runs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Header, Query, Request, Response
from sqlalchemy.orm import Session

from fengqiao.deps import (
    AppClock,
    AppDatabase,
    AppSettings,
    CurrentPrincipal,
    DbSession,
    WriteSession,
)
from fengqiao.geo.deps import Locator
from fengqiao.intake import service
from fengqiao.intake.models import ChecklistRun
from fengqiao.intake.schemas import (
    CategoryBrief,
    ChecklistIn,
    ChecklistItemOut,
    ChecklistOut,
    ClassIntakeOut,
    ModuleOut,
    QuestionIn,
    QuestionOut,
    RunItemOut,
)
from fengqiao.paging import Page, Paging
from fengqiao.taxonomy.deps import app_rules
from fengqiao.taxonomy.models import IntakeModule
from fengqiao.taxonomy.questions import Question
from fengqiao.taxonomy.snapshot import Rules

router = APIRouter(tags=["intake"])


def question_out(q: Question) -> QuestionOut:
    return QuestionOut(
        code=q.code, datatype=q.datatype, required=q.required, description=q.description,
        order=q.order, values=list(q.values),
    )  # fmt: skip


def module_out(module: IntakeModule, rules: Rules) -> ModuleOut:
    categories = [rules.categories[c] for c in module.categories if c in rules.categories]
    return ModuleOut(
        code=module.code,
        name_zh=module.name_zh,
        description=module.description,
        keywords=list(module.keywords or ()),
        categories=[
            CategoryBrief(
                code=c.code, name_zh=c.name_zh, major_code=c.major_code, major_name=c.major_name
            )
            for c in categories
            if c.active
        ],
        checklist_title=module.checklist_title,
        subject_label=module.subject_label,
        subject_question=module.subject_question,
        checklist=[
            ChecklistItemOut(
                code=item["code"], text=item["text"], category=item["category"],
                category_name=rules.categories[item["category"]].name_zh
                if item["category"] in rules.categories else item["category"],
                hint=item.get("hint", ""),
            )
            for item in module.checklist or []
        ],
    )  # fmt: skip


def run_out(run: ChecklistRun, names: dict[str, str]) -> ChecklistOut:
    return ChecklistOut(
        id=run.id, module=run.module_code, module_name=names.get(run.module_code, run.module_code),
        user_id=run.user_id, patrol_id=run.patrol_id, subject=run.subject, lat=run.lat,
        lng=run.lng, grid_id=run.grid_id, at=run.at, problems=run.problems,
        items=[RunItemOut(**item) for item in run.items],
    )  # fmt: skip


@router.get("/intake/modules", response_model=list[ModuleOut], summary="Business modules")
def list_modules(request: Request, db: DbSession, _: CurrentPrincipal) -> list[ModuleOut]:
    """民情通, 食安通, 智慧安监, 河长通 …: the classes each offers in the app and its checklist."""
    rules = app_rules(request, db)
    return [module_out(m, rules) for m in service.list_modules(db=db)]


@router.get(
    "/intake/classes", response_model=list[ClassIntakeOut], summary="Extra questions per class"
)
def list_class_intakes(
    request: Request, db: DbSession, _: CurrentPrincipal
) -> list[ClassIntakeOut]:
    """Every active class that asks extra questions or is offered by a module; a report's
    `answers` answer these by code."""
    rules = app_rules(request, db)
    return [
        ClassIntakeOut(
            category=code, name_zh=rules.categories[code].name_zh,
            major_code=rules.categories[code].major_code,
            questions=[question_out(q) for q in intake.questions], keywords=list(intake.keywords),
        )
        for code, intake in rules.intakes.items()
        if code in rules.categories and rules.categories[code].active
    ]  # fmt: skip


@router.put(
    "/intake/classes/{code}/questions",
    response_model=list[QuestionOut],
    summary="Replace a class's extra questions",
)
def put_questions(
    code: str,
    body: Annotated[list[QuestionIn], Body(max_length=50, description="At most 50 questions.")],
    principal: CurrentPrincipal,
    db: WriteSession,
) -> list[QuestionOut]:
    """Administrators: the class's questions in order; reports filed earlier keep their answers."""
    principal.require_role("admin")
    stored = service.set_questions(db=db, category_code=code, rows=[q.model_dump() for q in body])
    db.commit()
    return [question_out(q) for q in stored]


@router.post(
    "/intake/checklists",
    response_model=ChecklistOut,
    status_code=201,
    summary="Submit a checklist run",
)
async def post_checklist(
    body: ChecklistIn,
    request: Request,
    response: Response,
    principal: CurrentPrincipal,
    locator: Locator,
    settings: AppSettings,
    clock: AppClock,
    database: AppDatabase,
    idempotency_key: Annotated[
        str | None,
        Header(max_length=100, description="Retries with the same key return the first run."),
    ] = None,
) -> ChecklistOut:
    """Grid workers: every item ok or not (with a note); each failed item is filed as an event
    of the item's class at this place, in the same transaction."""
    place = locator.locate(body.lng, body.lat, body.crs)
    now = clock.now()

    def write() -> tuple[ChecklistOut, bool]:
        with database.transaction() as db:
            run, created = service.submit_checklist(
                db=db, rules=app_rules(request, db), place=place, principal=principal,
                module_code=body.module, subject=body.subject,
                outcomes=[
                    service.ItemOutcome(i.code, i.ok, i.note, i.answers) for i in body.items
                ],
                now=now, patrol_id=body.patrol_id, idempotency_key=idempotency_key,
            )  # fmt: skip
            return run_out(run, _module_names(db)), created

    out, created = await database.run_write(write)
    if not created:
        response.status_code = 200
    response.headers["Location"] = f"/api/v1/intake/checklists/{out.id}"
    return out


def _module_names(db: Session) -> dict[str, str]:
    return {m.code: m.name_zh for m in service.list_modules(db=db, active_only=False)}


@router.get("/intake/checklists", response_model=Page[ChecklistOut], summary="List checklist runs")
def list_checklists(
    db: DbSession,
    principal: CurrentPrincipal,
    paging: Paging,
    module: Annotated[str | None, Query(max_length=16, description="Module code.")] = None,
) -> Page[ChecklistOut]:
    """Runs in your area, newest first (a grid worker: their own)."""
    runs, total = service.list_checklists(
        db=db, principal=principal, module_code=module, limit=paging.size, offset=paging.offset
    )
    names = _module_names(db)
    return Page[ChecklistOut](
        items=[run_out(r, names) for r in runs], total=total, page=paging.page, size=paging.size
    )


@router.get("/intake/checklists/{run_id}", response_model=ChecklistOut, summary="One checklist run")
def get_checklist(run_id: int, db: DbSession, principal: CurrentPrincipal) -> ChecklistOut:
    """With each item's outcome and the event filed for it."""
    run = service.get_checklist(db=db, principal=principal, run_id=run_id)
    return run_out(run, _module_names(db))

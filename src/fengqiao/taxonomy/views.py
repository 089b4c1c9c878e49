"""Classes and routing rules: read by all, edited by admins (SLA policies and the working
calendar: sla/views.py)."""

from __future__ import annotations

from fastapi import APIRouter

from fengqiao.deps import CurrentPrincipal, DbSession, WriteSession
from fengqiao.taxonomy import service
from fengqiao.taxonomy.schemas import (
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryPatch,
    MajorOut,
    RuleIn,
    RuleOut,
)

router = APIRouter(tags=["taxonomy"])


@router.get("/categories", response_model=CategoryList, summary="The 10 major and 42 minor classes")
def list_categories(db: DbSession) -> CategoryList:
    """Every class with its platform, default unit type and level, filing and closing conditions."""
    majors, categories = service.list_categories(db=db)
    return CategoryList(
        majors=[MajorOut.model_validate(m) for m in majors],
        categories=[CategoryOut.model_validate(c) for c in categories],
    )


@router.post("/categories", response_model=CategoryOut, status_code=201)
def create_category(
    body: CategoryCreate, principal: CurrentPrincipal, db: WriteSession
) -> CategoryOut:
    """Add a minor class (administrators)."""
    principal.require_role("admin")
    category = service.create_category(db=db, values=body.model_dump())
    db.commit()
    return CategoryOut.model_validate(category)


@router.patch("/categories/{code}", response_model=CategoryOut)
def patch_category(
    code: str, body: CategoryPatch, principal: CurrentPrincipal, db: WriteSession
) -> CategoryOut:
    """Change a class (administrators); events already filed keep the names they had."""
    principal.require_role("admin")
    category = service.update_category(
        db=db, code=code, changes=body.model_dump(exclude_unset=True)
    )
    db.commit()
    return CategoryOut.model_validate(category)


@router.get("/routing-rules", response_model=list[RuleOut], summary="Routing rules in order")
def list_rules(db: DbSession) -> list[RuleOut]:
    """Tried by ascending position; the first match proposes the owner unit."""
    return [RuleOut.model_validate(r) for r in service.list_rules(db=db)]


@router.post("/routing-rules", response_model=RuleOut, status_code=201)
def create_rule(body: RuleIn, principal: CurrentPrincipal, db: WriteSession) -> RuleOut:
    principal.require_role("admin")
    rule = service.save_rule(db=db, values=body.model_dump(exclude_unset=True))
    service.require_covers_rule(db=db, principal=principal, rule=rule)
    db.commit()
    return RuleOut.model_validate(rule)


@router.patch("/routing-rules/{rule_id}", response_model=RuleOut)
def patch_rule(
    rule_id: int, body: RuleIn, principal: CurrentPrincipal, db: WriteSession
) -> RuleOut:
    principal.require_role("admin")
    rule = service.save_rule(db=db, values=body.model_dump(exclude_unset=True), rule_id=rule_id)
    service.require_covers_rule(db=db, principal=principal, rule=rule)
    db.commit()
    return RuleOut.model_validate(rule)

"""Classes and routing rules: read by all, edited by admins (SLA policies and the working
calendar: sla/views.py)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from fengqiao.deps import CurrentPrincipal, DbSession, WriteSession
from fengqiao.scope import STAFF_ROLES
from fengqiao.taxonomy import overrides, service
from fengqiao.taxonomy.models import ClassOverride
from fengqiao.taxonomy.schemas import (
    CategoryCreate,
    CategoryList,
    CategoryOut,
    CategoryPatch,
    ClassOverrideIn,
    ClassOverrideOut,
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


def _override_out(o: ClassOverride, district: str, category: str) -> ClassOverrideOut:
    out = ClassOverrideOut.model_validate(o)
    return out.model_copy(update={"district_name": district, "category_name": category})


@router.get(
    "/class-overrides", response_model=list[ClassOverrideOut], summary="Districts' class settings"
)
def list_class_overrides(principal: CurrentPrincipal, db: DbSession) -> list[ClassOverrideOut]:
    """The class settings of the districts the caller's home covers or lies in."""
    principal.require_role(*STAFF_ROLES)
    return [_override_out(*row) for row in overrides.list_overrides(db=db, principal=principal)]


@router.post("/class-overrides", response_model=ClassOverrideOut, status_code=201)
def create_class_override(
    body: ClassOverrideIn, principal: CurrentPrincipal, db: WriteSession
) -> ClassOverrideOut:
    """A district's own settings for a shared class (administrators covering the district)."""
    principal.require_role("admin")
    o = overrides.create_override(db=db, principal=principal, values=body.model_dump())
    db.commit()
    return _override_out(o, *overrides.names(db, o))


@router.patch("/class-overrides/{override_id}", response_model=ClassOverrideOut)
def patch_class_override(
    override_id: int, body: ClassOverrideIn, principal: CurrentPrincipal, db: WriteSession
) -> ClassOverrideOut:
    principal.require_role("admin")
    o = overrides.update_override(
        db=db, principal=principal, override_id=override_id,
        changes=body.model_dump(exclude_unset=True),
    )  # fmt: skip
    db.commit()
    return _override_out(o, *overrides.names(db, o))


@router.delete("/class-overrides/{override_id}", status_code=204)
def delete_class_override(
    override_id: int, principal: CurrentPrincipal, db: WriteSession
) -> Response:
    """Back to the shared settings of the class in that district."""
    principal.require_role("admin")
    overrides.delete_override(db=db, principal=principal, override_id=override_id)
    db.commit()
    return Response(status_code=204)

"""The rules snapshot as a request dependency."""

from __future__ import annotations

from fastapi import Request
from sqlalchemy.orm import Session

from fengqiao.taxonomy.snapshot import Rules, RulesCache


def app_rules(request: Request, db: Session) -> Rules:
    """The process's snapshot of classes, routing, deadlines and questions, checked against the
    stored counter when due (see `RulesCache`)."""
    cache: RulesCache = request.app.state.rules
    return cache.get(db)

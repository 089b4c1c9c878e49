"""The campaigns' fixtures: the event center's app on a stopped clock, the demo people, and a
helper that makes a principal of a demo user."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.auth.service import load_principal
from fengqiao.scope import Principal
from tests.events.conftest import api, clock, desk, world

__all__ = ["api", "clock", "desk", "principal", "world"]


def principal(db: Session, username: str) -> Principal:
    user_id = db.scalar(select(User.id).where(User.username == username))
    assert user_id is not None, username
    found = load_principal(db=db, user_id=user_id)
    assert found is not None
    return found

"""Tracked tasks (issue 20, the machinery under decisions and rectifications): a deadline on the
working calendar, a light, ONE reminder 24 h before, overdue marking with the owner and the
area's operators told, evidence photos, completion refused without evidence, a trail, scope."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from fengqiao.auth.models import User
from fengqiao.clock import LOCAL_TZ, FixedClock
from fengqiao.errors import Problem
from fengqiao.org.models import OrgUnit
from fengqiao.outbox.models import Outbox
from fengqiao.tasks.models import TrackedTask, TrackedTaskTrail
from fengqiao.tasks.service import create_task, task_light
from fengqiao.tasks.sweeper import sweep
from tests.events.conftest import World, jpeg

Auth = Any


def _town(db: Session, world: World, user: str = "demo_operator") -> OrgUnit:
    home = db.get(OrgUnit, db.get(User, world.ids[user]).home_org_id)  # type: ignore[union-attr]
    assert home is not None and home.kind == "town", home
    return home


def _task(db: Session, world: World, now: datetime, **fields: Any) -> TrackedTask:
    values: dict[str, Any] = dict(
        kind="decision", source_type="meeting", source_id=1, title="整治菜场周边占道经营",
        detail="两周内清理占道摊位并建立长效管理", org_id=_town(db, world).id,
        owner_unit_id=world.handler_unit, owner_user_id=None, limit=5, limit_unit="working_days",
        evidence_required=True, actor_id=world.ids["demo_operator"], now=now,
    )  # fmt: skip
    values.update(fields)
    task = create_task(db=db, **values)
    db.commit()
    return task


def test_a_task_without_an_owner_is_refused_and_nothing_is_stored(
    db: Session, world: World, clock: FixedClock
) -> None:
    before = db.scalar(select(func.count()).select_from(TrackedTask))
    with pytest.raises(Problem) as refused:
        _task(db, world, clock.now(), owner_unit_id=None, owner_user_id=None)
    body = refused.value.body()
    assert refused.value.status == 422
    assert [e["field"] for e in body["errors"]] == ["owner"]
    assert body["errors"][0]["reason_zh"] == "须指定责任单位或责任人"
    db.rollback()
    assert db.scalar(select(func.count()).select_from(TrackedTask)) == before


def test_the_deadline_counts_working_days_and_the_light_turns(
    db: Session, world: World, clock: FixedClock
) -> None:
    now = clock.now()  # Tuesday 1 Dec 2026, 09:00
    task = _task(db, world, now)
    # 5 working days from Tuesday morning: the next Tuesday, same hour (the weekend not counted).
    assert task.due_at.astimezone(LOCAL_TZ) == datetime(2026, 12, 8, 9, 0, tzinfo=LOCAL_TZ)
    assert task.remind_at == task.due_at - timedelta(hours=24)
    assert task.code.startswith("JD20261201")
    assert task.town_id == _town(db, world).id
    assert task_light(task, now) == "green"
    assert task_light(task, task.due_at - timedelta(hours=1)) == "yellow"
    assert task_light(task, task.due_at) == "red"
    assert [s.action for s in db.scalars(select(TrackedTaskTrail).where(
        TrackedTaskTrail.task_id == task.id))] == ["create"]  # fmt: skip


def _outbox(db: Session, task: TrackedTask, template: str) -> list[Outbox]:
    return list(db.scalars(select(Outbox).where(
        Outbox.template == template, Outbox.dedupe_key.like(f"%:{task.id}:%"))))  # fmt: skip


def test_one_reminder_before_and_an_overdue_mark_at_the_deadline(
    db: Session, bound: Any, world: World, clock: FixedClock
) -> None:
    task = _task(db, world, clock.now())
    assert task.remind_at is not None
    sweep(bound, task.remind_at - timedelta(seconds=1))
    db.expire_all()
    assert db.get(TrackedTask, task.id).reminded_at is None  # type: ignore[union-attr]
    sweep(bound, task.remind_at)
    sweep(bound, task.remind_at + timedelta(hours=1))  # exactly once
    db.expire_all()
    reminders = _outbox(db, task, "task_reminder")
    handler_ids = {world.ids["demo_handler"]}
    assert {r.user_id for r in reminders if r.channel == "app"} >= handler_ids
    assert len({(r.channel, r.recipient) for r in reminders}) == len(reminders)
    assert reminders and all(r.payload["path"] == f"/tasks/{task.code}" for r in reminders)
    stored = db.get(TrackedTask, task.id)
    assert stored is not None and stored.reminded_at == task.remind_at and stored.overdue_at is None
    sweep(bound, task.due_at)
    db.expire_all()
    stored = db.get(TrackedTask, task.id)
    assert stored is not None and stored.overdue_at == task.due_at
    assert task_light(stored, task.due_at) == "red"
    told = {r.user_id for r in _outbox(db, task, "task_overdue") if r.channel == "app"}
    assert world.ids["demo_handler"] in told and world.ids["demo_operator"] in told
    actions = [s.action for s in db.scalars(select(TrackedTaskTrail).where(
        TrackedTaskTrail.task_id == task.id).order_by(TrackedTaskTrail.id))]  # fmt: skip
    assert actions == ["create", "remind", "overdue"]


def test_closing_needs_a_photo_when_evidence_is_required(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    task = _task(db, world, clock.now())
    url = f"/api/v1/tasks/{task.code}"
    seen = api.get(url, headers=auth("demo_handler"))
    assert seen.status_code == 200, seen.text
    assert seen.json()["light"] == "green" and seen.json()["can_act"] is True
    refused = api.post(f"{url}/complete", json={"result": "已清理", "version": task.version},
                       headers=auth("demo_handler"))  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["field"] for e in refused.json()["errors"]] == ["evidence"]
    bad = api.post(f"{url}/photos", files={"photos": ("a.jpg", b"not an image", "image/jpeg")},
                   headers=auth("demo_handler"))  # fmt: skip
    assert bad.status_code == 415, bad.text
    assert api.get(url, headers=auth("demo_handler")).json()["photos"] == []
    progress = api.post(f"{url}/progress", json={"note": "已约谈摊主", "version": task.version},
                        headers=auth("demo_handler"))  # fmt: skip
    assert progress.status_code == 200, progress.text
    photo = api.post(f"{url}/photos", files={"photos": ("a.jpg", jpeg("green"), "image/jpeg")},
                     headers=auth("demo_handler"))  # fmt: skip
    assert photo.status_code == 201, photo.text
    shown = photo.json()
    assert len(shown["photos"]) == 1
    image = api.get(shown["photos"][0]["url"], headers=auth("demo_handler"))
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    stale = api.post(f"{url}/complete", json={"result": "已清理", "version": task.version},
                     headers=auth("demo_handler"))  # fmt: skip
    assert stale.status_code == 409
    clock.advance(timedelta(days=1))
    done = api.post(f"{url}/complete", json={"result": "占道摊位已清理", "version": shown["version"]},
                    headers=auth("demo_handler"))  # fmt: skip
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "done" and body["light"] == "green" and body["can_act"] is False
    assert [s["action"] for s in body["trail"]] == ["create", "progress", "photo", "complete"]
    again = api.post(f"{url}/complete", json={"result": "再次", "version": body["version"]},
                     headers=auth("demo_handler"))  # fmt: skip
    assert again.status_code == 409


def test_the_light_filter_follows_the_clock(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    task = _task(db, world, clock.now(), limit=2, limit_unit="hours", evidence_required=False)

    def codes(light: str) -> set[str]:
        answer = api.get("/api/v1/tasks", params={"light": light, "size": 100},
                         headers=auth("demo_operator"))  # fmt: skip
        assert answer.status_code == 200, answer.text
        return {t["code"] for t in answer.json()["items"]}

    assert task.code in codes("yellow")  # 2 h: inside the last 24 h at once
    clock.advance(timedelta(hours=3))
    assert task.code in codes("red") and task.code not in codes("yellow")


def test_only_the_areas_command_room_cancels_a_task(
    api: TestClient, auth: Auth, db: Session, world: World, clock: FixedClock
) -> None:
    task = _task(db, world, clock.now(), evidence_required=False)
    url = f"/api/v1/tasks/{task.code}"
    refused = api.post(f"{url}/cancel", json={"reason": "不再需要", "version": task.version},
                       headers=auth("demo_handler"))  # fmt: skip
    assert refused.status_code == 403, refused.text
    done = api.post(f"{url}/cancel", json={"reason": "决定调整", "version": task.version},
                    headers=auth("demo_operator"))  # fmt: skip
    assert done.status_code == 200, done.text
    body = done.json()
    assert body["status"] == "cancelled" and body["light"] == "grey" and body["can_act"] is False
    assert [s["action"] for s in body["trail"]] == ["create", "cancel"]
    late = api.post(f"{url}/progress", json={"note": "继续", "version": body["version"]},
                    headers=auth("demo_handler"))  # fmt: skip
    assert late.status_code == 409

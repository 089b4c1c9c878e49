"""Every handover is told, to the right people (issue 17, item 1): the unit on a dispatch, the
operators on a return, the verifier on a feedback, the unit on a rework, the new rung on an
escalation, the reporter on acceptance and closing (a resident in plain words), and nobody about
their own step. Messages are outbox rows written in the step's transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User, UserRole
from fengqiao.notify.templates import render_for
from fengqiao.outbox.models import Outbox

from .conftest import Desk

BASE = "http://fq.example:8611"


def _queued(db: Session, event_id: int, template: str) -> list[Outbox]:
    db.expire_all()
    return list(
        db.scalars(
            select(Outbox)
            .where(Outbox.event_id == event_id, Outbox.template == template)
            .order_by(Outbox.id)
        )
    )


def _app_users(rows: list[Outbox]) -> set[int]:
    return {r.user_id for r in rows if r.channel == "app" and r.user_id is not None}


def _holders(
    db: Session, *roles: str, unit_id: int | None = None, org_id: int | None = None
) -> set[int]:
    query = (
        select(User.id)
        .join(UserRole, UserRole.user_id == User.id)
        .where(User.is_active.is_(True), UserRole.role.in_(roles))
    )
    if unit_id is not None:
        query = query.where(User.unit_id == unit_id)
    if org_id is not None:
        query = query.where(User.home_org_id == org_id)
    return set(db.scalars(query))


def _text(row: Outbox) -> tuple[str, str]:
    subject, text, _link = render_for(row.template, row.payload, base_url=BASE)
    return subject, text


def _town_of(db: Session, username: str) -> int:
    return int(db.scalars(select(User.home_org_id).where(User.username == username)).one())


def test_a_dispatch_tells_the_units_handlers_and_head(desk: Desk, db: Session) -> None:
    event = desk.act(desk.file(), "demo_operator", "accept")
    assert not _queued(db, event["id"], "dispatched")
    event = desk.act(event, "demo_operator", "dispatch")
    rows = _queued(db, event["id"], "dispatched")
    unit = desk.world.handler_unit
    assert _app_users(rows) == _holders(db, "handler", "unit_leader", unit_id=unit)
    assert desk.world.ids["demo_operator"] not in _app_users(rows)
    duty = db.scalar(select(User.phone).where(User.id == desk.world.ids["demo_handler"]))
    assert duty in {r.recipient for r in rows if r.channel == "sms"}  # SMS where a phone exists
    subject, text = _text(rows[0])
    assert "您有新交办事件" in subject and event["code"] in text
    assert f"{BASE}/events/{event['id']}" in text


def test_a_return_tells_the_operators_and_a_second_dispatch_tells_again(
    desk: Desk, db: Session
) -> None:
    event = desk.act(desk.file(), "demo_operator", "accept")
    event = desk.act(event, "demo_operator", "dispatch")
    handler = desk.world.ids["demo_handler"]
    stale = event
    event = desk.act(event, "demo_handler", "return", note="不属于本单位职责")
    returned = _queued(db, event["id"], "returned")
    town_operators = _holders(db, "operator", org_id=_town_of(db, "demo_operator"))
    assert _app_users(returned) == town_operators | {desk.world.ids["demo_operator"]}
    assert handler not in _app_users(returned)
    subject, text = _text(returned[0])
    assert "回退" in subject and "不属于本单位职责" in text and "柯桥街道综合行政执法中队" in text

    event = desk.act(event, "demo_operator", "dispatch")
    dispatched = [r for r in _queued(db, event["id"], "dispatched") if r.user_id == handler]
    assert len([r for r in dispatched if r.channel == "app"]) == 2  # told of each dispatch
    # The same request again (a retry) is refused on its stale version and tells nobody.
    desk.act(stale, "demo_operator", "dispatch", expect=409)
    again = [r for r in _queued(db, event["id"], "dispatched") if r.user_id == handler]
    assert len(again) == len(dispatched)


def test_a_feedback_tells_the_verifier_and_a_rework_tells_the_unit(desk: Desk, db: Session) -> None:
    event = desk.to_handled(desk.file())
    to_verify = _queued(db, event["id"], "to_verify")
    assert _app_users(to_verify) == {desk.world.ids["demo_grid_worker"]}  # the reporting worker
    subject, text = _text(to_verify[0])
    assert "待您核查" in subject and "待您核查" in text

    event = desk.act(event, "demo_grid_worker", "verify", ok=False, note="路面仍有杂物")
    rework = _queued(db, event["id"], "rework")
    handlers = _holders(db, "handler", unit_id=desk.world.handler_unit)
    assert _app_users(rework) == handlers
    assert desk.world.ids["demo_grid_worker"] not in _app_users(rework)
    assert "路面仍有杂物" in _text(rework[0])[1]


def test_a_residents_report_is_verified_by_the_grids_workers(desk: Desk, db: Session) -> None:
    event = desk.file("demo_resident", source="resident")
    event = desk.to_handled(event)
    grid = db.scalar(select(User.home_org_id).where(User.id == desk.world.ids["demo_grid_worker"]))
    workers = set(
        db.scalars(
            select(GridAssignment.user_id)
            .join(UserRole, UserRole.user_id == GridAssignment.user_id)
            .where(GridAssignment.grid_id == grid, UserRole.role == "grid_worker")
        )
    )
    assert _app_users(_queued(db, event["id"], "to_verify")) == workers
    assert desk.world.ids["demo_resident"] not in workers


JARGON = ("事件", "交办", "受理", "结案", "处置", "核查", "责任单位", "坐席", "KQ-", "-20")


def test_the_resident_is_told_in_plain_words(desk: Desk, db: Session) -> None:
    resident = desk.world.ids["demo_resident"]
    # The resident asked for text messages when filing (else the app inbox alone is told).
    event = desk.file("demo_resident", source="resident", notify_sms=True)
    event = desk.act(event, "demo_operator", "accept")
    accepted = _queued(db, event["id"], "resident_accepted")
    assert {r.user_id for r in accepted} == {resident}
    assert {r.channel for r in accepted} == {"sms", "app"}
    assert not _queued(db, event["id"], "accepted")  # the staff wording is not used
    event = desk.act(event, "demo_operator", "dispatch")
    event = desk.act(event, "demo_handler", "sign")
    photo = desk.photo(event, "demo_handler")
    event = desk.act(event, "demo_handler", "feedback", result="已清理", attachment_ids=[photo])
    event = desk.verify_ok(event)
    assert event["status"] == "closed"
    closed = _queued(db, event["id"], "resident_closed")
    assert {r.user_id for r in closed} == {resident}
    for row in accepted + closed:
        subject, text, link = render_for(row.template, row.payload, base_url=BASE)
        assert "您反映的" in text and "您好" in text
        # The link goes to the report in the residents' app (its code is in the address only).
        assert link == f"{BASE}/r/reports/{event['code']}"
        words = subject + text.replace(link, "")
        assert not [word for word in JARGON if word in words], words
    assert "评价" in _text(closed[0])[1]


def test_a_reporter_on_staff_hears_of_acceptance_and_closing(desk: Desk, db: Session) -> None:
    # The district operator takes a hotline call in the demo town; the town's operator acts.
    event = desk.file("demo_district_operator", source="hotline", contact_phone="13905750000")
    event = desk.act(event, "demo_operator", "accept")
    accepted = _queued(db, event["id"], "accepted")
    assert _app_users(accepted) == {desk.world.ids["demo_district_operator"]}
    assert {r.channel for r in accepted} == {"app"}  # staff are told in the app
    assert "已受理" in _text(accepted[0])[0]


def test_nobody_is_told_of_their_own_step(desk: Desk, db: Session) -> None:
    # An operator who files and accepts a call is not told it was accepted.
    event = desk.file("demo_operator", source="hotline", contact_phone="13905750000")
    event = desk.act(event, "demo_operator", "accept")
    assert not _queued(db, event["id"], "accepted")
    # The reporting grid worker verifies and closes: not told of the closing they did.
    event = desk.to_handled(desk.file())
    event = desk.verify_ok(event)
    assert event["status"] == "closed" and not _queued(db, event["id"], "closed")
    # A town leader who lifts an event to the town leaders' rung is not told; the others are.
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    event = desk.act(event, "demo_operator", "escalate", note="群众反映强烈")
    desk.act(event, "demo_leader", "escalate", note="需镇街领导协调")
    rung = [r for r in _queued(db, event["id"], "escalation") if r.dedupe_key.startswith(
        f"escalate:{event['id']}:2:")]  # fmt: skip
    leaders = _holders(db, "leader", org_id=_town_of(db, "demo_leader"))
    assert desk.world.ids["demo_leader"] in leaders and len(leaders) > 1
    assert _app_users(rung) == leaders - {desk.world.ids["demo_leader"]}


def test_an_escalation_tells_the_new_rung_once(desk: Desk, db: Session) -> None:
    event = desk.act(desk.act(desk.file(), "demo_operator", "accept"), "demo_operator", "dispatch")
    event = desk.act(event, "demo_handler", "request_escalation", note="涉及多个部门，需协调")
    first = _queued(db, event["id"], "escalation")
    assert first and {r.dedupe_key.split(":")[2] for r in first} == {"1"}
    assert desk.world.ids["demo_handler"] not in _app_users(first)
    subject, text = _text(first[0])
    assert "镇街平台协调组" in subject and "责任单位申请升级" in text
    desk.act(event, "demo_operator", "escalate", note="仍未解决")
    rungs = {r.dedupe_key.split(":")[2] for r in _queued(db, event["id"], "escalation")}
    assert rungs == {"1", "2"}
    leaders = _holders(db, "leader", org_id=_town_of(db, "demo_leader"))
    second = [
        r for r in _queued(db, event["id"], "escalation") if r.dedupe_key.split(":")[2] == "2"
    ]
    assert _app_users(second) == leaders

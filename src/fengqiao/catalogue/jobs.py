"""The proxy-request reminder: 24 h before a request's deadline, its grid worker is told once.

A reminder says the deadline is near, so it is never queued once the deadline has passed (a
worker that was down, a request filed late): the request is marked reminded and its trail says
the reminder came too late. A queued reminder expires with the deadline (`expires_at`): the
sender drops it rather than deliver it late (notify/sender.py)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Select, and_, select, text
from sqlalchemy.orm import Session

from fengqiao.auth.models import GridAssignment, User
from fengqiao.catalogue.models import PROXY_REMINDER_PENDING_SQL, ProxyRequest
from fengqiao.catalogue.proxy import PROXY_STATUS_ZH, append_trail
from fengqiao.db import Database
from fengqiao.events.escalation import local_text
from fengqiao.jobs import JobContext, job
from fengqiao.outbox.service import Person, drafts_for, enqueue


def reminders_due(now: datetime, batch: int) -> Select[ProxyRequest]:
    # The condition repeats the partial index's WHERE literally, so SQLite reads only its rows.
    return (
        select(ProxyRequest)
        .where(and_(text(PROXY_REMINDER_PENDING_SQL), ProxyRequest.remind_at <= now))
        .order_by(ProxyRequest.remind_at, ProxyRequest.id)
        .limit(batch)
    )


def _told(db: Session, request: ProxyRequest) -> list[Person]:
    """The worker who took it; before anyone has, every worker of the resident's grid."""
    query = select(User.id, User.name, User.phone, User.email).where(User.is_active.is_(True))
    if request.worker_id is not None:
        query = query.where(User.id == request.worker_id)
    else:
        query = query.join(GridAssignment, GridAssignment.user_id == User.id).where(
            GridAssignment.grid_id == request.grid_id
        )
    return [Person(r.id, r.name, r.phone, r.email) for r in db.execute(query.order_by(User.id))]


def send_reminders(database: Database, now: datetime, *, batch: int = 500) -> dict[str, int]:
    """Queue a reminder for every open request whose reminder time has come, exactly once."""
    counts = {"reminded": 0, "messages": 0, "late": 0}
    while True:
        with database.transaction() as db:
            statement = reminders_due(now, batch)
            if not database.is_sqlite:
                statement = statement.with_for_update(skip_locked=True)
            requests = list(db.scalars(statement))
            for request in requests:
                if request.due_at <= now:  # "due soon" would be false: nothing is sent
                    request.reminded_at = now
                    append_trail(
                        db, request, at=now, actor_id=None, action="remind",
                        from_status=request.status,
                        note=f"到期时间 {local_text(request.due_at)} 已过，不再发送到期提醒",
                    )  # fmt: skip
                    counts["late"] += 1
                    continue
                payload = {
                    "code": request.code, "item": request.item_name,
                    "status": PROXY_STATUS_ZH.get(request.status, request.status),
                    "due": local_text(request.due_at), "expires_at": request.due_at.isoformat(),
                    "path": f"/proxy?id={request.id}",
                }  # fmt: skip
                drafts = drafts_for(
                    _told(db, request), channels=("sms", "app"), template="proxy_reminder",
                    payload=payload, key=f"proxy-remind:{request.id}:{request.due_at.isoformat()}",
                )  # fmt: skip
                counts["messages"] += enqueue(db, drafts, now=now)
                # The outbox rows and the mark are one transaction: a crash sends neither.
                request.reminded_at = now
                append_trail(
                    db, request, at=now, actor_id=None, action="remind",
                    from_status=request.status, note=f"到期时间 {local_text(request.due_at)}",
                )  # fmt: skip
                counts["reminded"] += 1
            db.flush()
        if len(requests) < batch:
            return counts


@job("proxy_reminders", "Proxy requests (代办): remind the grid worker 24 h before the deadline")
def proxy_reminders(ctx: JobContext) -> dict[str, int]:
    return send_reminders(ctx.database, ctx.now, batch=ctx.settings.worker_batch)

"""H1 every handover told (issue 17, item 1): the in-app inbox keeps a path, not an address

The inbox's `notification.link` held the whole link (`http://127.0.0.1:8000/events/12`) and each
body ended with it, so after the server moved (a demo started on another port, a district's
server given its public name) every stored message still pointed at the old address. From here
on the inbox stores the path and the server puts FENGQIAO_PUBLIC_BASE_URL in front when a
message is read; this moves the stored rows the same way: an absolute link becomes its path and
the link written into the body is taken out (the inbox shows it as a button). Outbox rows need
nothing: the sender moves an old absolute link onto the configured address when it sends.

No schema change. Downgrade leaves the paths: the old addresses are not worth keeping.

Revision ID: 0018_handovers
Revises: 0017_read_caches
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from alembic import op

revision: str = "0018_handovers"
down_revision: str | None = "0017_read_caches"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5000
NOTIFICATION = sa.table(
    "notification",
    sa.column("id", sa.Integer),
    sa.column("link", sa.String),
    sa.column("body", sa.Text),
)


def path_of(link: str) -> str:
    """The path (with query and fragment) of an absolute link."""
    parts = urlsplit(link)
    return urlunsplit(("", "", parts.path or "/", parts.query, parts.fragment))


def upgrade() -> None:
    bind = op.get_bind()
    n = NOTIFICATION.c
    move = (
        sa.update(NOTIFICATION)
        .where(n.id == sa.bindparam("row_id"))
        .values(link=sa.bindparam("new_link"), body=sa.bindparam("new_body"))
    )
    last = 0
    while True:
        rows = bind.execute(
            sa.select(n.id, n.link, n.body)
            .where(n.id > last, sa.or_(n.link.like("http://%"), n.link.like("https://%")))
            .order_by(n.id)
            .limit(BATCH)
        ).all()
        if not rows:
            break
        bind.execute(
            move,
            [
                {
                    "row_id": row.id,
                    "new_link": path_of(row.link),
                    "new_body": row.body.replace(row.link, "").rstrip(),
                }
                for row in rows
            ],
        )
        last = rows[-1].id


def downgrade() -> None:
    pass

"""proof before closing (issue 17, item 2)

Attachments learn where a photo came from (`origin`: camera, album, unknown) and where the phone
was when it uploaded it (`device_lat`, `device_lng`, `device_accuracy`, `device_at`), beside the
time and place its EXIF gives; a class says whether its 反馈 needs a photo
(`category.feedback_photo_required`, on by default).

Photo kinds become 上报 / 处置前 / 处置后 / 核查 (`report`, `before`, `after`, `verify`); the rows
already stored are relabelled by what they were:
- `before` rows stored with the filing itself (same moment as the event, by its reporter) were
  the report's photos → `report`;
- `after` / `evidence` / `near` / `far` rows uploaded while the event waited for its
  verification (the upload's trail row starts from `handled`) were the verifier's → `verify`;
- the remaining `evidence` rows were the handler's proof of the handling → `after`.
`near` and `far` rows otherwise keep their kind (still labelled 近景 / 远景). The downgrade puts
`report` back to `before` and `verify` to `after` (an `evidence` row relabelled stays `after`).

Revision ID: 0019_proof
Revises: 0018_handovers
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import fengqiao.db

revision: str = "0019_proof"
down_revision: str | None = "0018_handovers"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FILED_WITH_THE_REPORT = """
UPDATE attachment SET kind = 'report'
WHERE kind = 'before' AND EXISTS (
    SELECT 1 FROM event
    WHERE event.id = attachment.event_id
      AND event.created_at = attachment.created_at
      AND event.reporter_id = attachment.uploaded_by
)
"""

_UPLOADED_FOR_VERIFICATION = """
UPDATE attachment SET kind = 'verify'
WHERE kind IN ('after', 'evidence', 'near', 'far') AND EXISTS (
    SELECT 1 FROM event_log
    WHERE event_log.event_id = attachment.event_id
      AND event_log.action = 'attach'
      AND event_log.from_status = 'handled'
      AND event_log.at = attachment.created_at
      AND event_log.actor_id = attachment.uploaded_by
)
"""

# In this order: the verifier's uploads are told apart before `evidence` becomes `after`.
RELABEL = (
    _FILED_WITH_THE_REPORT,
    _UPLOADED_FOR_VERIFICATION,
    "UPDATE attachment SET kind = 'after' WHERE kind = 'evidence'",
)


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(
            sa.Column("origin", sa.String(length=8), server_default="unknown", nullable=False)
        )
        batch.add_column(sa.Column("device_lat", sa.Float(), nullable=True))
        batch.add_column(sa.Column("device_lng", sa.Float(), nullable=True))
        batch.add_column(sa.Column("device_accuracy", sa.Float(), nullable=True))
        batch.add_column(
            sa.Column("device_at", fengqiao.db.UTCDateTime(timezone=True), nullable=True)
        )
    with op.batch_alter_table("category") as batch:
        batch.add_column(
            sa.Column(
                "feedback_photo_required", sa.Boolean(), server_default=sa.true(), nullable=False
            )
        )
    for statement in RELABEL:
        op.execute(statement)


def downgrade() -> None:
    op.execute("UPDATE attachment SET kind = 'before' WHERE kind = 'report'")
    op.execute("UPDATE attachment SET kind = 'after' WHERE kind = 'verify'")
    with op.batch_alter_table("category") as batch:
        batch.drop_column("feedback_photo_required")
    with op.batch_alter_table("attachment") as batch:
        batch.drop_column("device_at")
        batch.drop_column("device_accuracy")
        batch.drop_column("device_lng")
        batch.drop_column("device_lat")
        batch.drop_column("origin")

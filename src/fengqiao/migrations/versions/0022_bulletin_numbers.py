"""bulletin: one row per issuing area and day, with its document number (issue 17, item 4)

The daily bulletin reads as an official document: each area that issues one (the district and
every town) numbers its bulletins per year (文号, e.g. 柯综指通〔2026〕37号). `bulletin` gains the
issuing area (`org_id`, now part of the primary key with `day`), the year and serial of its
number and the number as printed; `bulletin_sequence` holds each area's last serial of a year,
incremented in the transaction that stores the bulletin. Rows made before are the district's
and keep no number.

Revision ID: 0022_bulletin_numbers
Revises: 0021_event_sorting
Create Date: 2026-12-05 14:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022_bulletin_numbers"
down_revision: str | None = "0021_event_sorting"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bulletin_sequence",
        sa.Column("org_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["org_unit.id"], name=op.f("fk_bulletin_sequence_org_id_org_unit")
        ),
        sa.PrimaryKeyConstraint("org_id", "year", name=op.f("pk_bulletin_sequence")),
    )
    with op.batch_alter_table("bulletin") as batch:
        batch.add_column(sa.Column("org_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("year", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("serial", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("number", sa.String(length=64), nullable=True))
    # Every bulletin stored so far is the district's (the root of the tree).
    op.execute(
        "UPDATE bulletin SET org_id = (SELECT id FROM org_unit WHERE kind = 'district' "
        "ORDER BY id LIMIT 1)"
    )
    op.execute("DELETE FROM bulletin WHERE org_id IS NULL")
    with op.batch_alter_table("bulletin", recreate="always") as batch:
        batch.alter_column("org_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint("pk_bulletin", type_="primary")
        batch.create_primary_key("pk_bulletin", ["org_id", "day"])
        batch.create_foreign_key(
            op.f("fk_bulletin_org_id_org_unit"), "org_unit", ["org_id"], ["id"]
        )
        batch.create_unique_constraint(op.f("uq_bulletin_org_id"), ["org_id", "year", "serial"])


def downgrade() -> None:
    # Before numbers, only the district's bulletins were stored.
    op.execute(
        "DELETE FROM bulletin WHERE org_id <> (SELECT id FROM org_unit WHERE kind = 'district' "
        "ORDER BY id LIMIT 1)"
    )
    with op.batch_alter_table("bulletin", recreate="always") as batch:
        batch.drop_constraint(op.f("uq_bulletin_org_id"), type_="unique")
        batch.drop_constraint(op.f("fk_bulletin_org_id_org_unit"), type_="foreignkey")
        batch.drop_constraint("pk_bulletin", type_="primary")
        batch.create_primary_key("pk_bulletin", ["day"])
        batch.drop_column("number")
        batch.drop_column("serial")
        batch.drop_column("year")
        batch.drop_column("org_id")
    op.drop_table("bulletin_sequence")

"""the tree above the district (issue 21, tree): per-district routing rules and SLA limits

Provinces and cities are rows of `org_unit` (kinds and paths are data); what the schema gains is
`district_id` on `routing_rule` and `sla_policy`: a district's own rule or limit, overriding the
shared ones for its events only.

Revision ID: 0039_province
Revises: 0038_annual
Create Date: 2026-12-06 07:00:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039_province"
down_revision: str | None = "0038_annual"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("routing_rule", "sla_policy")


def upgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("district_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(
                f"fk_{table}_district_id_org_unit", "org_unit", ["district_id"], ["id"]
            )


def downgrade() -> None:
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_constraint(f"fk_{table}_district_id_org_unit", type_="foreignkey")
            batch.drop_column("district_id")

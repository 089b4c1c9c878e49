"""Alembic environment: batch mode so SQLite can alter tables; URL from the caller or settings."""

from __future__ import annotations

from alembic import context

from fengqiao.config import get_settings
from fengqiao.db import Base, make_engine
from fengqiao.models import (
    include_name,
    include_object,
)  # (also registers every table on Base.metadata)

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
connection = config.attributes.get("connection")


def run(connection_: object) -> None:
    context.configure(
        connection=connection_,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        # Objects without a model on this backend (fengqiao.models.UNMODELLED): skipped.
        include_name=include_name,
        include_object=include_object,
    )
    with context.begin_transaction():
        context.run_migrations()


if connection is not None:
    run(connection)
else:
    engine = make_engine(url)
    with engine.connect() as conn:
        run(conn)
    engine.dispose()

"""Alembic environment: batch mode so SQLite can alter tables; URL from the caller or settings."""

from __future__ import annotations

from alembic import context

import fengqiao.models  # noqa: F401  (registers every table on Base.metadata)
from fengqiao.catalogue.search import include_name
from fengqiao.config import get_settings
from fengqiao.db import Base, make_engine

config = context.config
url = config.attributes.get("database_url") or get_settings().database_url
connection = config.attributes.get("connection")


def run(connection_: object) -> None:
    context.configure(
        connection=connection_,  # type: ignore[arg-type]
        target_metadata=Base.metadata,
        render_as_batch=True,
        compare_type=True,
        # The search index objects made by hand in 0012 have no model: autogenerate skips them.
        include_name=include_name,
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

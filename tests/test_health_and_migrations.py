"""Health reports the database and migration state; migrations alone define the schema."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi.testclient import TestClient

from fengqiao.app import create_app
from fengqiao.db import Base, Database
from fengqiao.migrate import downgrade, head_revision, upgrade
from fengqiao.models import include_name, include_object
from tests.conftest import make_settings


def test_healthz_ok(client: TestClient) -> None:
    body = client.get("/healthz").json()
    assert body == {
        "status": "ok",
        "database": "ok",
        "migrations": "current",
        "revision": head_revision(),
        "head": head_revision(),
    }


def test_healthz_reports_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'blank.db'}"
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["migrations"] == "behind"


def test_healthz_reports_an_unreachable_database(tmp_path: Path) -> None:
    url = "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1"
    with TestClient(create_app(make_settings(url, tmp_path))) as client:
        response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["database"] == "unreachable"


def test_migrations_match_the_models_and_go_down_and_up(fresh_db: Database) -> None:
    with fresh_db.engine.connect() as connection:
        # The service catalogue's search index (FTS5 / pg_trgm) is made by hand, without a model.
        context = MigrationContext.configure(
            connection, opts={"include_name": include_name, "include_object": include_object}
        )
        diff = compare_metadata(context, Base.metadata)
    assert diff == []
    downgrade(fresh_db.url, "base")
    with fresh_db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() is None
    upgrade(fresh_db.url)
    with fresh_db.engine.connect() as connection:
        assert MigrationContext.configure(connection).get_current_revision() == head_revision()

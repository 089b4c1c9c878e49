"""Shared fixtures: every storage test runs on SQLite and on PostgreSQL.

- `fresh_db`: an empty, migrated database of its own (per test).
- `seeded`: a database seeded once per session with `--scale small`, per backend.
- `keqiao`: the 16-town district with 8,000 events, seeded once per session and backend, read
  only (tests marked KEQIAO_GROUP run in one process).
- `db`: a session on the seeded database inside a transaction that is rolled back after the test.
- `client`: the app over that same transaction, so API writes vanish after each test too.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, create_engine, select, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.config import Settings, get_settings
from fengqiao.db import Database
from fengqiao.migrate import upgrade

BACKENDS = ["sqlite", "postgresql"]
POSTGRES_URL = os.environ.get(
    "FENGQIAO_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
TEST_KEY = "test-signing-key-not-secret-0123456789abcdef"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get("FENGQIAO_TEST_SKIP_POSTGRES") == "1":
        skip = pytest.mark.skip(reason="FENGQIAO_TEST_SKIP_POSTGRES=1")
        for item in items:
            callspec = getattr(item, "callspec", None)
            if callspec is not None and "postgresql" in callspec.params.values():
                item.add_marker(skip)


class PostgresDatabases:
    """Throwaway PostgreSQL databases next to the configured one, dropped at the end."""

    def __init__(self, url: str) -> None:
        self.base = make_url(url).set(drivername="postgresql+psycopg")
        self.admin = create_engine(self.base, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []

    def create(self, template: str | None = None) -> str:
        name = f"fq_test_{uuid.uuid4().hex[:12]}"
        clause = f" TEMPLATE {template}" if template else ""
        with self.admin.connect() as conn:
            for attempt in range(5):
                if template:
                    # A template must have no other session: a live stream's listener (one
                    # LISTEN connection per process, fengqiao.fanout) left on it by an earlier
                    # test of this process is cut; it reconnects on its own if still wanted.
                    conn.execute(
                        text(
                            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                            "WHERE datname = :name AND pid <> pg_backend_pid()"
                        ),
                        {"name": template},
                    )
                try:
                    conn.execute(text(f'CREATE DATABASE "{name}"{clause}'))
                    break
                except OperationalError:
                    if not template or attempt == 4:
                        raise
                    time.sleep(0.2)
        self.made.append(name)
        return self.base.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        """Drop one of ours now (a test's own database, at its end: the drops of a session are
        spread over it instead of piling up at its end)."""
        name = make_url(url).database
        if name in self.made:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            self.made.remove(name)

    def drop_all(self) -> None:
        with self.admin.connect() as conn:
            for name in self.made:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    databases = PostgresDatabases(POSTGRES_URL)
    yield databases
    databases.drop_all()


def make_settings(url: str, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": url,
        "data_dir": tmp,
        "secret_key": TEST_KEY,
        "grid_index_check_seconds": 0.0,
        "principal_cache_seconds": 0.0,
        "demo_password": "demo-pass-for-tests",
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture(scope="session")
def empty_templates(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, str]:
    """One migrated empty database per backend to copy from."""
    templates: dict[str, str] = {}
    sqlite_file = tmp_path_factory.mktemp("template") / "empty.db"
    templates["sqlite"] = f"sqlite:///{sqlite_file}"
    upgrade(templates["sqlite"])
    return templates


def _new_empty(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest, templates: dict[str, str]
) -> str:
    if backend == "sqlite":
        target = tmp_path / f"fq-{uuid.uuid4().hex[:8]}.db"
        target.write_bytes(Path(make_url(templates["sqlite"]).database or "").read_bytes())
        return f"sqlite:///{target}"
    postgres: PostgresDatabases = request.getfixturevalue("postgres")
    if "postgresql" not in templates:
        templates["postgresql"] = postgres.create()
        upgrade(templates["postgresql"])
    template_name = make_url(templates["postgresql"]).database
    return postgres.create(template=template_name)


@pytest.fixture(params=BACKENDS)
def fresh_db(
    request: pytest.FixtureRequest, tmp_path: Path, empty_templates: dict[str, str]
) -> Iterator[Database]:
    """An empty, migrated database of this test's own."""
    url = _new_empty(request.param, tmp_path, request, empty_templates)
    database = Database(url)
    yield database
    database.dispose()
    if request.param != "sqlite":
        request.getfixturevalue("postgres").drop(url)


@dataclass
class Seeded:
    backend: str
    url: str
    settings: Settings


@pytest.fixture(scope="session", params=BACKENDS)
def seeded(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    empty_templates: dict[str, str],
) -> Iterator[Seeded]:
    """A database seeded with the small demo district, once per backend per session."""
    from fengqiao.demo.seed import seed

    tmp = tmp_path_factory.mktemp(f"seeded-{request.param}")
    url = _new_empty(request.param, tmp, request, empty_templates)
    settings = make_settings(url, tmp)
    database = Database(url)
    seed(db=database, scale="small", password=settings.demo_password)
    database.dispose()
    yield Seeded(request.param, url, settings)


# The moment the shared 16-town district's events lead up to (its tests ask "now" at it).
KEQIAO_NOW = datetime(2026, 12, 1, 6, 0, tzinfo=UTC)
KEQIAO_EVENTS = 8000
# Tests of the shared district run in one pytest-xdist process (`--dist loadgroup` in the
# Makefile), so it is seeded once per backend, not once per test and backend.
KEQIAO_GROUP = pytest.mark.xdist_group("keqiao")


@dataclass
class Keqiao:
    backend: str
    database: Database
    report: Any  # fengqiao.demo.seed's report of the seed


@pytest.fixture(scope="session", params=BACKENDS)
def keqiao(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    empty_templates: dict[str, str],
) -> Iterator[Keqiao]:
    """The 16-town district (`--scale keqiao`) with 8,000 events up to KEQIAO_NOW and fresh
    statistics, once per backend per session. Its tests only read it (query plans, counts): a
    test that writes takes `fresh_db` and seeds its own."""
    from fengqiao.demo.events import seed_events
    from fengqiao.demo.seed import seed

    tmp = tmp_path_factory.mktemp(f"keqiao-{request.param}")
    database = Database(_new_empty(request.param, tmp, request, empty_templates))
    report = seed(db=database, scale="keqiao", password="pw")
    seed_events(db=database, count=KEQIAO_EVENTS, until=KEQIAO_NOW)
    yield Keqiao(request.param, database, report)
    database.dispose()


class BoundDatabase(Database):
    """A Database whose sessions all live inside one outer transaction (rolled back later)."""

    def __init__(self, url: str, connection: Connection) -> None:
        super().__init__(url)
        self.connection = connection

    def session(self, *, write: bool = False) -> Session:
        return Session(
            bind=self.connection,
            join_transaction_mode="create_savepoint",
            expire_on_commit=False,
        )


@pytest.fixture
def bound(seeded: Seeded) -> Iterator[BoundDatabase]:
    database = Database(seeded.url)
    connection = database.engine.connect()
    outer = connection.begin()
    bound_db = BoundDatabase(seeded.url, connection)
    yield bound_db
    outer.rollback()
    connection.close()
    bound_db.dispose()
    database.dispose()


@pytest.fixture
def db(bound: BoundDatabase) -> Iterator[Session]:
    """A session on the seeded database; everything it writes is rolled back."""
    session = bound.session()
    yield session
    session.close()


@pytest.fixture
def settings(seeded: Seeded) -> Settings:
    return seeded.settings


@pytest.fixture
def client(bound: BoundDatabase, seeded: Seeded) -> Iterator[TestClient]:
    app = create_app(seeded.settings, database=bound)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def cli_db(
    fresh_db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Database]:
    """A fresh database that `fengqiao` commands (CliRunner) use through the environment."""
    monkeypatch.setenv("FENGQIAO_DATABASE_URL", fresh_db.url)
    monkeypatch.setenv("FENGQIAO_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("FENGQIAO_DEMO_PASSWORD", "cli-demo-password")
    get_settings.cache_clear()
    yield fresh_db
    get_settings.cache_clear()


@pytest.fixture
def auth(db: Session, seeded: Seeded) -> Callable[[str], dict[str, str]]:
    """Headers with a bearer token for a seeded username (no password round trip)."""

    def headers(username: str) -> dict[str, str]:
        user_id = db.scalar(select(User.id).where(User.username == username))
        assert user_id is not None, f"no seeded user {username}"
        token = issue_token(user_id=user_id, key=TEST_KEY, minutes=60)
        return {"Authorization": f"Bearer {token}"}

    return headers

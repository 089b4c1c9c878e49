"""A private copy of the seeded district per test: what the ops tests check is written by
separate transactions (the access log, backups), which the rolled-back `client` cannot show."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import make_url

from fengqiao.app import create_app
from fengqiao.auth.models import User
from fengqiao.auth.security import issue_token
from fengqiao.clock import FixedClock
from fengqiao.config import Settings
from fengqiao.db import Database
from tests.conftest import TEST_KEY, Seeded
from tests.events.conftest import START


@dataclass
class Copy:
    database: Database
    settings: Settings

    def auth(self, username: str) -> dict[str, str]:
        with self.database.session() as session:
            user_id = session.scalar(select(User.id).where(User.username == username))
        assert user_id is not None, username
        return {"Authorization": f"Bearer {issue_token(user_id=user_id, key=TEST_KEY, minutes=60)}"}


def copy_of(seeded: Seeded, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """A new database holding what the seeded one holds."""
    if seeded.backend == "sqlite":
        target = tmp_path / "copy.db"
        source = sqlite3.connect(make_url(seeded.url).database or "")
        destination = sqlite3.connect(target)
        source.backup(destination)
        source.close()
        destination.close()
        return f"sqlite:///{target}"
    postgres = request.getfixturevalue("postgres")
    return str(postgres.create(template=make_url(seeded.url).database))


@pytest.fixture
def copy(seeded: Seeded, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Copy]:
    url = copy_of(seeded, tmp_path, request)
    settings = seeded.settings.model_copy(update={"database_url": url, "data_dir": tmp_path})
    database = Database(url)
    yield Copy(database, settings)
    database.dispose()


@pytest.fixture
def api(copy: Copy) -> Iterator[TestClient]:
    """The app over the copy, on a fixed clock."""
    app = create_app(copy.settings, database=copy.database, clock=FixedClock(START))
    with TestClient(app) as test_client:
        yield test_client


Auth = Callable[[str], dict[str, str]]


@pytest.fixture
def auth_copy(copy: Copy) -> Any:
    return copy.auth

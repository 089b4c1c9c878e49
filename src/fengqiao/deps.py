"""Request dependencies: the database session, the settings and the authenticated caller.

Wiring below every domain: the caller is resolved by the authenticator `app.py` installs
(`auth.requests.authenticate`), the grid locator and the rules snapshot by `geo.deps` and
`taxonomy.deps`.

Every API route depends on `CurrentPrincipal` unless it is explicitly public (health, login).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyHeader, OAuth2PasswordBearer
from sqlalchemy.orm import Session

from fengqiao.clock import Clock
from fengqiao.config import Settings
from fengqiao.db import Database
from fengqiao.scope import Principal

# The caller from the request, its bearer token and its API key (either may be None).
Authenticator = Callable[[Request, str | None, str | None], Awaitable[Principal]]

# Dependencies that do no I/O are `async def`: FastAPI runs a plain `def` dependency in the
# thread pool, a hop that cost the grid lookup a third of its throughput.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)
api_key_scheme = APIKeyHeader(name="X-API-Key", auto_error=False)


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.db
    return database


async def get_read_database(request: Request) -> Database:
    """The database for reads that may lag: the replica's `ReadDatabase` when
    FENGQIAO_READ_DATABASE_URL is set (it falls back to the primary itself), else the primary."""
    database: Database = request.app.state.read_db
    return database


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


def read_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    session = database.session()
    try:
        yield session
    finally:
        session.close()


def replica_session(
    database: Annotated[Database, Depends(get_read_database)],
) -> Iterator[Session]:
    """A read session on the replica when it is fresh and up, else on the primary."""
    session = database.session()
    try:
        yield session
    finally:
        session.close()


def write_session(database: Annotated[Database, Depends(get_database)]) -> Iterator[Session]:
    """A session holding the write lock; the view commits, anything unfinished rolls back."""
    session = database.session(write=True)
    try:
        yield session
    finally:
        session.rollback()
        session.close()


async def current_principal(
    request: Request,
    token: Annotated[str | None, Depends(oauth2_scheme)],
    api_key: Annotated[str | None, Depends(api_key_scheme)],
) -> Principal:
    """The caller, by the app's authenticator (`auth.requests.authenticate`, installed by
    `app.py`); 401 with the reason otherwise."""
    authenticate: Authenticator = request.app.state.authenticate
    return await authenticate(request, token, api_key)


DbSession = Annotated[Session, Depends(read_session)]
ReadDbSession = Annotated[Session, Depends(replica_session)]
WriteSession = Annotated[Session, Depends(write_session)]
CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
AppSettings = Annotated[Settings, Depends(get_settings_dep)]
AppClock = Annotated[Clock, Depends(get_clock)]
AppDatabase = Annotated[Database, Depends(get_database)]
AppReadDatabase = Annotated[Database, Depends(get_read_database)]
